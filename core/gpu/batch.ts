/**
 * A batch of same-shape images resident on the GPU: one f32 buffer `[count, frames, channels, rows, cols]`.
 *
 * @module
 */
import type { Image, Shape } from "../tensor.ts";
import type { GpuShape } from "./device.ts";
import type { BufferPool } from "./pool.ts";

/** Images on the GPU between stages. */
export interface GpuBatch {
  readonly gpu: GpuShape;
  /** Pool to take output buffers from (and give this batch's buffer back to when done). */
  readonly pool: BufferPool;
  /** f32 values, `count * frames * channels * rows * cols` of them. */
  readonly buffer: GPUBuffer;
  /** Shape of each image. */
  readonly shape: Shape;
  readonly count: number;
  /** The header of each image (kind, shape, meta, notes), in batch order, for kernels that need it. */
  readonly images?: ReadonlyArray<Omit<Image, "data">>;
}

/** Values per image of a shape. */
export const imageLength = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);
