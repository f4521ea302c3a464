/**
 * The WGSL sources in `shaders/`, read once per process.
 *
 * @module
 */
import { readFileSync } from "node:fs";

const cache = new Map<string, string>();

/** The text of `shaders/NAME.wgsl` (read with node:fs, so it works the same in Deno and Bun). */
export const shader = (name: string): string => {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(new URL(`../../shaders/${name}.wgsl`, import.meta.url), "utf8");
    cache.set(name, text);
  }
  return text;
};

/** `shaders/NAME.wgsl` as a path relative to the project, for messages. */
export const shaderPath = (name: string): string => `shaders/${name}.wgsl`;
