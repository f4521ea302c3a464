/**
 * The built-in stages, written with the same public API as third-party plugins.
 *
 * @module
 */
import type { Stage } from "../core/stage.ts";
import { decode } from "./decode/mod.ts";
import { normalize } from "./normalize/mod.ts";
import { rescale } from "./rescale/mod.ts";
import { resize } from "./resize/mod.ts";
import { window } from "./window/mod.ts";
import { write } from "./write/mod.ts";

export { decode, normalize, rescale, resize, window, write };

/** Every built-in stage, in pipeline order. */
export const builtinStages: ReadonlyArray<Stage> = [decode, rescale, window, resize, normalize, write];
