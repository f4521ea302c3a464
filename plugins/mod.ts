/**
 * The built-in stages, written with the same public API as third-party plugins.
 *
 * @module
 */
import type { Stage } from "../core/stage.ts";
import { argmax } from "./argmax/mod.ts";
import { decode } from "./decode/mod.ts";
import { infer } from "./infer/mod.ts";
import { normalize } from "./normalize/mod.ts";
import { rescale } from "./rescale/mod.ts";
import { resize } from "./resize/mod.ts";
import { sigmoid } from "./sigmoid/mod.ts";
import { softmax } from "./softmax/mod.ts";
import { threshold } from "./threshold/mod.ts";
import { topk } from "./topk/mod.ts";
import { window } from "./window/mod.ts";
import { write } from "./write/mod.ts";

export {
  argmax,
  decode,
  infer,
  normalize,
  rescale,
  resize,
  sigmoid,
  softmax,
  threshold,
  topk,
  window,
  write,
};

/** Every built-in stage, in pipeline order. */
export const builtinStages: ReadonlyArray<Stage> = [
  decode,
  rescale,
  window,
  resize,
  normalize,
  infer,
  softmax,
  sigmoid,
  argmax,
  threshold,
  topk,
  write,
];
