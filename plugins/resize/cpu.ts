/**
 * CPU image resize with PyTorch / torchvision parity.
 *
 * - `bilinear` + antialias: torchvision `resize(..., antialias=True)` on float tensors, i.e. ATen's
 *   `_upsample_bilinear2d_aa` (PIL's ImagingResample): a separable triangle filter whose support grows with the
 *   downscale factor, weights normalised per output pixel, width pass first then height pass. Upscaling uses
 *   the same kernel (support 1), which differs from plain bilinear at the borders.
 * - `bilinear` without antialias: `F.interpolate(mode="bilinear", align_corners=False)`.
 * - `nearest`: PyTorch's legacy `"nearest"` (source index `floor(dst * in / out)`, clamped).
 *
 * Weight tables are computed with the same float32 arithmetic ATen uses (bit-identical to torch 1.13's
 * tables) and cached per (in, out, filter, antialias); sums are float32 with one rounding per multiply-add, and
 * the intermediate image between the two passes is float32 like ATen's temporary tensor. Results agree with
 * torchvision to within one or two float32 ulps (about 1e-7 on [0, 1] data).
 *
 * {@link resizePlanes} runs the passes in WebAssembly SIMD (cpu_simd.ts) where the runtime has it, else the
 * JS passes of this file ({@link resizePlanesJs}, the reference the SIMD path is tested against).
 *
 * @module
 */

/** Interpolation filter of {@link resizePlanes}. */
export type ResizeFilter = "bilinear" | "nearest";

/**
 * Per-output-index filter taps along one axis: output `i` reads `count[i]` consecutive inputs from
 * `start[i]`, weighted by `weights[i * stride + k]`.
 */
export interface AxisTable {
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly weights: Float64Array;
  readonly stride: number;
  /** True when the table maps input i to output i with weight 1 (the pass can be skipped). */
  readonly identity: boolean;
}

import { type LookupInput, tensorBuffer } from "../../plugin.ts";
import { simdResize, simdResizeLookup } from "./cpu_simd.ts";

const f32 = Math.fround;

function identityTable(size: number): AxisTable {
  const start = new Int32Array(size);
  for (let i = 0; i < size; i++) start[i] = i;
  return {
    start,
    count: new Int32Array(size).fill(1),
    weights: new Float64Array(size).fill(1),
    stride: 1,
    identity: true,
  };
}

/** ATen `_compute_indices_weights_aa` with the bilinear (triangle) filter, in float32 arithmetic. */
function antialiasTable(inSize: number, outSize: number): AxisTable {
  const scale = f32(inSize / outSize);
  const support = scale >= 1 ? scale : 1;
  const invscale = scale >= 1 ? f32(1 / scale) : 1;
  const stride = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * stride);
  for (let i = 0; i < outSize; i++) {
    const center = f32(scale * (i + 0.5));
    const xmin = Math.max(Math.trunc(f32(center - support) + 0.5), 0);
    const xsize = Math.min(Math.trunc(f32(center + support) + 0.5), inSize) - xmin;
    const base = i * stride;
    let total = 0;
    for (let j = 0; j < xsize; j++) {
      let x = f32((f32(j + xmin - center) + 0.5) * invscale);
      if (x < 0) x = -x;
      const w = x < 1 ? f32(1 - x) : 0;
      weights[base + j] = w;
      total = f32(total + w);
    }
    if (total !== 0) {
      for (let j = 0; j < xsize; j++) weights[base + j] = f32(weights[base + j] / total);
    }
    start[i] = xmin;
    count[i] = Math.max(xsize, 0);
  }
  return { start, count, weights, stride, identity: false };
}

/** ATen `compute_indices_weights_linear` (align_corners=False), in float32 arithmetic. */
function bilinearTable(inSize: number, outSize: number): AxisTable {
  const scale = f32(inSize / outSize);
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * 2);
  for (let i = 0; i < outSize; i++) {
    // ATen keeps the source coordinate in double here (float scale, double arithmetic).
    let src = scale * (i + 0.5) - 0.5;
    if (src < 0) src = 0;
    const i0 = Math.trunc(src);
    const lambda1 = f32(Math.min(Math.max(src - i0, 0), 1));
    const lambda0 = f32(1 - lambda1);
    start[i] = i0;
    if (i0 < inSize - 1) {
      count[i] = 2;
      weights[i * 2] = lambda0;
      weights[i * 2 + 1] = lambda1;
    } else {
      // Right edge: ATen reads the last input twice (index1 == index0).
      count[i] = 1;
      weights[i * 2] = f32(lambda0 + lambda1);
    }
  }
  return { start, count, weights, stride: 2, identity: false };
}

/** ATen `nearest_idx` (legacy "nearest"): floor(dst * float(in / out)), clamped to the last input. */
function nearestTable(inSize: number, outSize: number): AxisTable {
  const scale = f32(inSize / outSize);
  const start = new Int32Array(outSize);
  for (let i = 0; i < outSize; i++) {
    start[i] = outSize === 2 * inSize ? i >> 1 : Math.min(Math.floor(f32(i * scale)), inSize - 1);
  }
  return {
    start,
    count: new Int32Array(outSize).fill(1),
    weights: new Float64Array(outSize).fill(1),
    stride: 1,
    identity: false,
  };
}

/** The filter table of one axis (shared by the CPU passes and the GPU kernel, shaders/resize.wgsl). */
export function axisTable(
  inSize: number,
  outSize: number,
  filter: ResizeFilter,
  antialias: boolean,
): AxisTable {
  if (inSize === outSize) return identityTable(outSize);
  if (filter === "nearest") return nearestTable(inSize, outSize);
  return antialias ? antialiasTable(inSize, outSize) : bilinearTable(inSize, outSize);
}

/**
 * Width pass: `src` [rows, cols] at `srcOff` -> `dst` [rows, outCols] at `dstOff`.
 *
 * Sums taps in float32 with one rounding per multiply-add (the product of two float32 values is exact in
 * float64), which is how ATen's FMA-compiled kernel accumulates; this reproduces torchvision bit for bit
 * more often than a float64 sum does.
 */
function horizontalPass(
  src: Float32Array,
  srcOff: number,
  rows: number,
  cols: number,
  dst: Float32Array,
  dstOff: number,
  t: AxisTable,
): void {
  const outCols = t.start.length;
  const { start, count, weights, stride } = t;
  for (let y = 0; y < rows; y++) {
    const rowIn = srcOff + y * cols;
    const rowOut = dstOff + y * outCols;
    for (let x = 0; x < outCols; x++) {
      const s = rowIn + start[x];
      const n = count[x];
      const wb = x * stride;
      let acc = 0;
      for (let k = 0; k < n; k++) acc = f32(acc + src[s + k] * weights[wb + k]);
      dst[rowOut + x] = acc;
    }
  }
}

/**
 * Height pass: `src` [rows, cols] at `srcOff` -> `dst` [outRows, cols] at `dstOff`.
 *
 * Accumulates straight into the float32 output row, tap by tap (same rounding as {@link horizontalPass}).
 */
function verticalPass(
  src: Float32Array,
  srcOff: number,
  cols: number,
  dst: Float32Array,
  dstOff: number,
  t: AxisTable,
): void {
  const outRows = t.start.length;
  const { start, count, weights, stride } = t;
  for (let y = 0; y < outRows; y++) {
    const rowOut = dstOff + y * cols;
    const n = count[y];
    if (n === 0) {
      dst.fill(0, rowOut, rowOut + cols);
      continue;
    }
    const w0 = weights[y * stride];
    const row0 = srcOff + start[y] * cols;
    for (let x = 0; x < cols; x++) dst[rowOut + x] = src[row0 + x] * w0;
    for (let k = 1; k < n; k++) {
      const w = weights[y * stride + k];
      const row = srcOff + (start[y] + k) * cols;
      for (let x = 0; x < cols; x++) dst[rowOut + x] += src[row + x] * w;
    }
  }
}

/** Cached tables by `in:out:filter:antialias` (a pipeline uses a handful; cleared if it ever grows large). */
const tables = new Map<string, AxisTable>();
const MAX_CACHED_TABLES = 64;

/** {@link axisTable}, cached per (in, out, filter, antialias); callers must not modify the result. */
export function cachedAxisTable(
  inSize: number,
  outSize: number,
  filter: ResizeFilter,
  antialias: boolean,
): AxisTable {
  const key = `${inSize}:${outSize}:${filter}:${antialias}`;
  let t = tables.get(key);
  if (t === undefined) {
    if (tables.size >= MAX_CACHED_TABLES) tables.clear();
    t = axisTable(inSize, outSize, filter, antialias);
    tables.set(key, t);
  }
  return t;
}

/** Checks the arguments of {@link resizePlanes}; returns the width and height tables. */
function resizeTables(...args: Parameters<typeof resizePlanes>): [AxisTable, AxisTable] {
  const [src, planes, rows, cols, outRows, outCols, filter, antialias] = args;
  const sizes = [["planes", planes], ["rows", rows], ["cols", cols], ["outRows", outRows], [
    "outCols",
    outCols,
  ]] as const;
  for (const [name, v] of sizes) {
    if (!Number.isInteger(v) || v < (name === "planes" ? 0 : 1)) {
      const what = name === "planes" ? "a non-negative" : "a positive";
      throw new RangeError(`resizePlanes: ${name} must be ${what} integer, got ${v}`);
    }
  }
  if (src.length < planes * rows * cols) {
    throw new RangeError(`resizePlanes: src has ${src.length} values, expected ${planes * rows * cols}`);
  }
  if (filter !== "bilinear" && filter !== "nearest") {
    throw new RangeError(`resizePlanes: unknown filter ${String(filter)}`);
  }
  return [
    cachedAxisTable(cols, outCols, filter, antialias),
    cachedAxisTable(rows, outRows, filter, antialias),
  ];
}

/** The JS passes over every plane: width pass then height pass, an axis whose size is kept is copied. */
function jsResize(...[src, planes, rows, cols, h, v]: Parameters<typeof simdResize>): Float32Array {
  const outRows = v.start.length;
  const outCols = h.start.length;
  const inPlane = rows * cols;
  const outPlane = outRows * outCols;
  const out = tensorBuffer(planes * outPlane);
  if (h.identity && v.identity) {
    out.set(src.subarray(0, planes * inPlane));
  } else if (v.identity) {
    horizontalPass(src, 0, planes * rows, cols, out, 0, h);
  } else if (h.identity) {
    for (let p = 0; p < planes; p++) verticalPass(src, p * inPlane, cols, out, p * outPlane, v);
  } else {
    const tmp = scratchTmp(rows * outCols);
    for (let p = 0; p < planes; p++) {
      horizontalPass(src, p * inPlane, rows, cols, tmp, 0, h);
      verticalPass(tmp, 0, outCols, out, p * outPlane, v);
    }
  }
  return out;
}

/**
 * Resize each [rows, cols] plane of `src` (planes = frames * channels, C order) to outRows x outCols.
 *
 * Matches `torchvision.transforms.functional.resize(tensor, [outRows, outCols], interpolation, antialias)`
 * on float32 tensors to about 1e-6 for data in [0, 1]:
 * - `"bilinear"`, `antialias = true`: ATen's antialiased bilinear (PIL-style triangle filter with support
 *   `max(in / out, 1)`, normalised weights, width pass then height pass), for down- and upscaling alike;
 * - `"bilinear"`, `antialias = false`: plain bilinear, `align_corners = False`, edge-clamped;
 * - `"nearest"` (`antialias` ignored): legacy nearest, source index `min(floor(dst * in / out), in - 1)`.
 *
 * Axes whose size does not change are copied unchanged. Runs in WebAssembly SIMD where available (within
 * about 1e-7 of {@link resizePlanesJs}), else in JS.
 *
 * @param src input samples, `planes * rows * cols` values.
 * @param planes number of independent planes (frames times channels).
 * @param rows input height.
 * @param cols input width.
 * @param outRows output height (>= 1).
 * @param outCols output width (>= 1).
 * @param filter interpolation filter.
 * @param antialias use the antialiased kernel for `"bilinear"` (torchvision `antialias=True`).
 * @returns a new array of `planes * outRows * outCols` values.
 * @throws RangeError when a size is not a positive integer or `src` is shorter than `planes * rows * cols`.
 */
export function resizePlanes(
  src: Float32Array,
  planes: number,
  rows: number,
  cols: number,
  outRows: number,
  outCols: number,
  filter: ResizeFilter,
  antialias: boolean,
): Float32Array {
  const [h, v] = resizeTables(src, planes, rows, cols, outRows, outCols, filter, antialias);
  if (h.identity && v.identity) return jsResize(src, planes, rows, cols, h, v);
  return simdResize(src, planes, rows, cols, h, v) ?? jsResize(src, planes, rows, cols, h, v);
}

/** {@link resizePlanes} with the JS passes only: the reference of the SIMD path and its fallback. */
export function resizePlanesJs(...args: Parameters<typeof resizePlanes>): Float32Array {
  const [src, planes, rows, cols] = args;
  const [h, v] = resizeTables(...args);
  return jsResize(src, planes, rows, cols, h, v);
}

/** Why {@link resizeLookup} cannot read these words (the caller then resizes the looked-up image). */
function lookupUnsupported(input: LookupInput, outRows: number, outCols: number): string | undefined {
  const { pixels: px, samples, tables, header } = input;
  if (header.shape.length !== 4) return "not [frames, channels, rows, cols]";
  const [frames, channels, rows, cols] = header.shape;
  if (rows === outRows && cols === outCols) return "size kept";
  if (px.byteSwap) return "big endian";
  if (px.bitsAllocated !== 8 && px.bitsAllocated !== 16) return "32-bit words";
  if (px.bitsStored < 1 || px.bitsStored > 16) return "BitsStored out of range";
  if (samples > 1 && px.planar !== 1) return "interleaved samples";
  if (samples !== 1 && samples !== channels) return "channels differ from samples";
  if (tables.length !== channels || tables.some((t) => t.length < 2 ** px.bitsStored)) return "tables";
  const wordBytes = px.bitsAllocated / 8;
  if (px.bytes.length < frames * samples * rows * cols * wordBytes) return "pixel data too short";
  return undefined;
}

/**
 * {@link resizePlanes} of the image a fused chain's lookup tables give (see `LookupInput` in the plugin API),
 * without making that image: the words are looked up in WebAssembly, a few rows at a time, into the rows the
 * width pass reads. Bit for bit `resizePlanes` of the looked-up image. Undefined (the caller resizes the
 * looked-up image) for words it does not read - big endian, 32-bit, interleaved samples, too few bytes -,
 * for a size kept, and where WebAssembly SIMD is missing.
 */
export function resizeLookup(
  input: LookupInput,
  outRows: number,
  outCols: number,
  filter: ResizeFilter,
  antialias: boolean,
): Float32Array | undefined {
  if (lookupUnsupported(input, outRows, outCols)) return undefined;
  const { pixels: px, samples, tables, offset, header } = input;
  const [frames, channels, rows, cols] = header.shape;
  const plane = rows * cols;
  const h = cachedAxisTable(cols, outCols, filter, antialias);
  const v = cachedAxisTable(rows, outRows, filter, antialias);
  const words = {
    bytes: px.bytes,
    wordBytes: px.bitsAllocated / 8 as 1 | 2,
    frames,
    channels,
    first: (p: number) => (Math.floor(p / channels) * samples + (samples === 1 ? 0 : p % channels)) * plane,
    tables,
    shift: px.shift,
    mask: 2 ** px.bitsStored - 1,
    offset,
  };
  return simdResizeLookup(words, rows, cols, h, v);
}

/** The JS passes' intermediate image, reused across calls (this thread's). */
let tmpBuffer = new Float32Array(0);
function scratchTmp(n: number): Float32Array {
  if (tmpBuffer.length < n) tmpBuffer = new Float32Array(n);
  return tmpBuffer.subarray(0, n);
}
