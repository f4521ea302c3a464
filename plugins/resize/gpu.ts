/**
 * The resize stage on the GPU: shaders/resize.wgsl, one pass per axis whose size changes, with the same
 * filter tables as the CPU path (core/cpu/resize.ts), uploaded once per size pair and device.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  dispatch,
  dispatchSize,
  type GpuBatch,
  type GpuError,
  type GpuShape,
  type ProgramInfo,
  type Shape,
  storageFrom,
  uniformFrom,
  wgslFile,
} from "../../plugin.ts";
import { type AxisTable, axisTable, type ResizeFilter } from "./cpu.ts";

const RESIZE = wgslFile(import.meta.url, "../../shaders/resize.wgsl");

const program = (entry: "resize_h" | "resize_v"): ProgramInfo => {
  return { name: entry, cacheKey: `resize:${entry}`, code: RESIZE.text, entry, spans: [] };
};

interface TableBuffers {
  readonly starts: GPUBuffer;
  readonly counts: GPUBuffer;
  readonly weights: GPUBuffer;
  readonly stride: number;
}

const tables = new WeakMap<GPUDevice, Map<string, TableBuffers>>();

const tableBuffers = (gpu: GpuShape, t: AxisTable, key: string) =>
  Effect.gen(function* () {
    let cache = tables.get(gpu.device);
    if (!cache) tables.set(gpu.device, cache = new Map());
    const hit = cache.get(key);
    if (hit) return hit;
    const entry: TableBuffers = {
      starts: yield* storageFrom(gpu, t.start, `resize starts ${key}`),
      counts: yield* storageFrom(gpu, t.count, `resize counts ${key}`),
      weights: yield* storageFrom(gpu, new Float32Array(t.weights), `resize weights ${key}`),
      stride: t.stride,
    };
    cache.set(key, entry);
    return entry;
  });

/** One pass along columns ("h") or rows ("v"); returns the output buffer (from the batch's pool). */
const pass = (
  batch: GpuBatch,
  src: GPUBuffer,
  axis: "h" | "v",
  planes: number,
  rows: number,
  cols: number,
  outLen: number,
  filter: ResizeFilter,
  antialias: boolean,
) =>
  Effect.gen(function* () {
    const gpu = batch.gpu;
    const inLen = axis === "h" ? cols : rows;
    const t = axisTable(inLen, outLen, filter, antialias);
    const tb = yield* tableBuffers(gpu, t, `${inLen}->${outLen}:${filter}:${antialias}`);
    const total = axis === "h" ? planes * rows * outLen : planes * outLen * cols;
    const size = dispatchSize(gpu, total);
    const dims = yield* uniformFrom(
      gpu,
      new Uint32Array([planes, rows, cols, outLen, tb.stride, total, size.rowPitch, 0]),
      "resize dims",
    );
    const dst = yield* batch.pool.acquire(total * 4, `resize ${axis}`);
    yield* dispatch(gpu, program(axis === "h" ? "resize_h" : "resize_v"), [
      src,
      dst,
      tb.starts,
      tb.counts,
      tb.weights,
      dims,
    ], size);
    return dst;
  });

/** Resizes every image of the batch; the input buffer goes back to the pool. */
export const resizeBatch = (
  batch: GpuBatch,
  outRows: number,
  outCols: number,
  filter: ResizeFilter,
  antialias: boolean,
): Effect.Effect<GpuBatch, GpuError> =>
  Effect.gen(function* () {
    const [frames, channels, rows, cols] = batch.shape;
    const planes = batch.count * frames * channels;
    let buffer = batch.buffer;
    if (cols !== outCols) {
      const next = yield* pass(batch, buffer, "h", planes, rows, cols, outCols, filter, antialias);
      batch.pool.release(buffer);
      buffer = next;
    }
    if (rows !== outRows) {
      const next = yield* pass(batch, buffer, "v", planes, rows, outCols, outRows, filter, antialias);
      batch.pool.release(buffer);
      buffer = next;
    }
    const shape: Shape = [frames, channels, outRows, outCols];
    return { ...batch, buffer, shape, count: batch.count };
  });
