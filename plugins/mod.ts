/**
 * The built-in stages, written with exactly the public plugin API (`plugin.ts`) that third-party plugins
 * use, and exported as a plugin like theirs.
 *
 * @module
 */
import { definePlugin, type Stage } from "../plugin.ts";
import { decode } from "./decode/mod.ts";
import { infer } from "./infer/mod.ts";
import { normalize } from "./normalize/mod.ts";
import { argmax, sigmoid, softmax, threshold, topk } from "./postprocess/mod.ts";
import { realworld } from "./realworld/mod.ts";
import { resample } from "./resample/mod.ts";
import { rescale } from "./rescale/mod.ts";
import { suv } from "./suv/mod.ts";
import { resize } from "./resize/mod.ts";
import { window } from "./window/mod.ts";
import { write } from "./write/mod.ts";

export {
  argmax,
  decode,
  infer,
  normalize,
  realworld,
  resample,
  rescale,
  resize,
  sigmoid,
  softmax,
  suv,
  threshold,
  topk,
  window,
  write,
};

/** Every built-in stage, in pipeline order. */
export const builtinStages: ReadonlyArray<Stage> = [
  decode,
  rescale,
  realworld,
  suv,
  window,
  resize,
  resample,
  normalize,
  infer,
  softmax,
  sigmoid,
  argmax,
  threshold,
  topk,
  write,
];

/** The built-in stages as a plugin. */
export default definePlugin({ name: "dcmflow built-ins", stages: builtinStages });
