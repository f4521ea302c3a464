/**
 * The resample stage on the GPU: shaders/resample.wgsl, one invocation per output value, with the CPU
 * path's axis tables (plugins/resample/cpu.ts) uploaded per call.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  dispatch,
  dispatchSize,
  type GpuBatch,
  kernelProgram,
  type ProgramInfo,
  type Shape,
  storageFrom,
  uniformFrom,
  wgslFile,
  wgslStruct,
} from "../../plugin.ts";
import { axisTable, type ResampleMode } from "./cpu.ts";
import type { Size3 } from "./geometry.ts";

const RESAMPLE = wgslFile(import.meta.url, "../../shaders/resample.wgsl");

/** The fields of the kernel's uniform `ResampleDims`, all u32, in order (the WGSL struct is made from it). */
export const DIMS = [
  "channels",
  "in_d",
  "in_h",
  "in_w",
  "out_d",
  "out_h",
  "out_w",
  "total",
  "row_pitch",
] as const;

/** The `ResampleDims` uniform, generated from {@link DIMS}. */
const STRUCT = wgslStruct(
  "ResampleDims",
  Object.fromEntries(DIMS.map((f) => [f, "u32"])) as Record<(typeof DIMS)[number], "u32">,
);

/** The kernel: the generated struct and `WORKGROUP_SIZE`, then shaders/resample.wgsl (errors located there). */
export const resampleProgram = (): ProgramInfo =>
  kernelProgram({ shader: RESAMPLE, entry: "resample", structs: [STRUCT] });

/** The three axis tables (slices, rows, columns) as interleaved taps and weights. */
const tables = (from: Size3, to: Size3, mode: ResampleMode) => {
  const all = [0, 1, 2].map((a) => axisTable(from[a], to[a], mode));
  const n = to[0] + to[1] + to[2];
  const taps = new Int32Array(2 * n);
  const weights = new Float32Array(2 * n);
  let k = 0;
  for (const t of all) {
    for (let i = 0; i < t.i0.length; i++, k++) {
      taps[2 * k] = t.i0[i];
      taps[2 * k + 1] = t.i1[i];
      weights[2 * k] = t.l0[i];
      weights[2 * k + 1] = t.l1[i];
    }
  }
  return { taps, weights };
};

/** Resamples every volume of the batch to `to` (`[slices, rows, cols]`); the input buffer goes back to the pool. */
export const resampleBatch = Effect.fnUntraced(
  function* (batch: GpuBatch, to: Size3, mode: ResampleMode) {
    const gpu = batch.gpu;
    const [d, c, h, w] = batch.shape;
    const from: Size3 = [d, h, w];
    const total = batch.count * to[0] * c * to[1] * to[2];
    const size = dispatchSize(gpu, total);
    const t = tables(from, to, mode);
    const taps = yield* storageFrom(gpu, t.taps, "resample taps");
    const weights = yield* storageFrom(gpu, t.weights, "resample weights");
    const values: Record<(typeof DIMS)[number], number> = {
      channels: c,
      in_d: d,
      in_h: h,
      in_w: w,
      out_d: to[0],
      out_h: to[1],
      out_w: to[2],
      total,
      row_pitch: size.rowPitch,
    };
    const dims = yield* uniformFrom(gpu, STRUCT.pack(values), "resample dims");
    const dst = yield* batch.pool.acquire(total * 4, "resample");
    yield* dispatch(gpu, resampleProgram(), [batch.buffer, dst, taps, weights, dims], size);
    taps.destroy();
    weights.destroy();
    dims.destroy();
    batch.pool.release(batch.buffer);
    const shape: Shape = [to[0], c, to[1], to[2]];
    return { ...batch, buffer: dst, shape };
  },
);
