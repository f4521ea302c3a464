/**
 * Post-processing of model outputs: `softmax`, `sigmoid`, `argmax`, `threshold`, `topk`. One folder for the
 * family, as they share the axis kernels (shaders/axis.wgsl) and the readings of prediction layouts.
 *
 * @module
 */
export { argmax } from "./argmax.ts";
export { sigmoid } from "./sigmoid.ts";
export { softmax } from "./softmax.ts";
export { threshold } from "./threshold.ts";
export { topk, type TopkParams } from "./topk.ts";
