/**
 * The resize stage on the GPU: two separable passes, shaders/resize_h.wgsl (width, first, as ATen and the
 * CPU path) then shaders/resize_v.wgsl (height), each skipped when its size does not change.
 *
 * Each pass is a kernel specialised to its size pair: the sizes, the number of taps and the outputs per
 * invocation are constants of the generated code, so no invocation divides by a runtime value and every
 * tap loop has a fixed length. The filter tables (the CPU path's `axisTable`: first input, tap count and
 * weights of each output) are uploaded once per size pair and device.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  dispatch,
  dispatchSize,
  type GpuBatch,
  type GpuShape,
  kernelProgram,
  type Shape,
  storageFrom,
  wgslFile,
} from "../../plugin.ts";
import { type AxisTable, axisTable, type ResizeFilter } from "./cpu.ts";

const RESIZE_H = wgslFile(import.meta.url, "../../shaders/resize_h.wgsl");
const RESIZE_V = wgslFile(import.meta.url, "../../shaders/resize_v.wgsl");

/** The filter table of one axis on the GPU: `taps` weights per output (zeros after its count). */
interface TableBuffers {
  readonly starts: GPUBuffer;
  readonly counts: GPUBuffer;
  readonly weights: GPUBuffer;
  readonly taps: number;
}

/** An axis table with `taps` (the largest count) weights per output. */
export const packTable = (t: AxisTable) => {
  const outLen = t.start.length;
  const taps = Math.max(1, ...t.count);
  const weights = new Float32Array(outLen * taps);
  for (let i = 0; i < outLen; i++) {
    for (let k = 0; k < t.count[i]; k++) weights[i * taps + k] = t.weights[i * t.stride + k];
  }
  const u32 = (a: Int32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);
  return { starts: u32(t.start), counts: u32(t.count), weights, taps };
};

const tables = new WeakMap<GPUDevice, Map<string, TableBuffers>>();

const tableBuffers = Effect.fnUntraced(function* (gpu: GpuShape, key: string, make: () => AxisTable) {
  let cache = tables.get(gpu.device);
  if (!cache) tables.set(gpu.device, cache = new Map());
  const hit = cache.get(key);
  if (hit) return hit;
  const t = packTable(make());
  const entry: TableBuffers = {
    starts: yield* storageFrom(gpu, t.starts, `resize starts ${key}`),
    counts: yield* storageFrom(gpu, t.counts, `resize counts ${key}`),
    weights: yield* storageFrom(gpu, t.weights, `resize weights ${key}`),
    taps: t.taps,
  };
  cache.set(key, entry);
  return entry;
});

/** The sizes of one pass over `planes` planes. */
interface PassShape {
  readonly planes: number;
  readonly rows: number;
  readonly cols: number;
  /** Output length along the resized axis. */
  readonly outLen: number;
}

/** One pass along columns ("h") or rows ("v"); returns the output buffer (from the batch's pool). */
const pass = Effect.fnUntraced(
  function* (
    batch: GpuBatch,
    src: GPUBuffer,
    axis: "h" | "v",
    s: PassShape,
    filter: ResizeFilter,
    antialias: boolean,
  ) {
    const gpu = batch.gpu;
    const inLen = axis === "h" ? s.cols : s.rows;
    const tb = yield* tableBuffers(
      gpu,
      `${inLen}->${s.outLen}:${filter}:${antialias}`,
      () => axisTable(inLen, s.outLen, filter, antialias),
    );
    const outCols = axis === "h" ? s.outLen : s.cols;
    const outRows = axis === "h" ? s.rows : s.outLen;
    const { program, size } = axis === "h" ? widthPass(gpu, s, tb.taps) : heightPass(gpu, s, tb.taps);
    const dst = yield* batch.pool.acquire(s.planes * outRows * outCols * 4, `resize ${axis}`);
    const buffers = [src, dst, tb.starts, tb.counts, tb.weights];
    yield* dispatch(gpu, program, buffers, { ...size, z: s.planes }, { defer: true });
    return dst;
  },
);

const u32 = (v: number) => ["u32", v] as const;

/**
 * Rows each width-pass invocation runs through, reusing its taps: many on a software adapter (its cost is
 * per instruction, the table reads amortise), few on a GPU (which needs the invocations to fill its cores).
 */
const rowsPerInvocation = (gpu: GpuShape) => (gpu.software ? 32 : 4);

/** The width pass: 4 neighbouring outputs of a block of rows per invocation. */
const widthPass = (gpu: GpuShape, s: PassShape, taps: number) => {
  const block = Math.min(rowsPerInvocation(gpu), s.rows);
  const quads = Math.ceil(s.outLen / 4);
  const units = quads * Math.ceil(s.rows / block);
  const size = dispatchSize(gpu, units);
  const program = kernelProgram({
    shader: RESIZE_H,
    entry: "resize_h",
    constants: {
      ROWS: u32(s.rows),
      IN_COLS: u32(s.cols),
      OUT_COLS: u32(s.outLen),
      TAPS: u32(taps),
      ROWS_PER_INVOCATION: u32(block),
      QUADS: u32(quads),
      UNITS: u32(units),
      ROW_PITCH: u32(size.rowPitch),
    },
  });
  return { program, size };
};

/** The height pass: 4 neighbouring outputs (one vec4) per invocation when the columns come in fours. */
const heightPass = (gpu: GpuShape, s: PassShape, taps: number) => {
  const lanes = s.cols % 4 === 0 ? 4 : 1;
  const units = (s.outLen * s.cols) / lanes;
  const size = dispatchSize(gpu, units);
  const program = kernelProgram({
    shader: RESIZE_V,
    entry: "resize_v",
    aliases: { Lanes: lanes === 4 ? "vec4f" : "f32" },
    constants: {
      IN_ROWS: u32(s.rows),
      ROW_UNITS: u32(s.cols / lanes),
      TAPS: u32(taps),
      UNITS: u32(units),
      ROW_PITCH: u32(size.rowPitch),
    },
  });
  return { program, size };
};

/** Resizes every image of the batch; the input buffer goes back to the pool. */
export const resizeBatch = Effect.fnUntraced(
  function* (batch: GpuBatch, outRows: number, outCols: number, filter: ResizeFilter, antialias: boolean) {
    const [frames, channels, rows, cols] = batch.shape;
    const planes = batch.count * frames * channels;
    let buffer = batch.buffer;
    if (cols !== outCols) {
      const next = yield* pass(
        batch,
        buffer,
        "h",
        { planes, rows, cols, outLen: outCols },
        filter,
        antialias,
      );
      batch.pool.release(buffer);
      buffer = next;
    }
    if (rows !== outRows) {
      const next = yield* pass(
        batch,
        buffer,
        "v",
        { planes, rows, cols: outCols, outLen: outRows },
        filter,
        antialias,
      );
      batch.pool.release(buffer);
      buffer = next;
    }
    const shape: Shape = [frames, channels, outRows, outCols];
    return { ...batch, buffer, shape, count: batch.count };
  },
);
