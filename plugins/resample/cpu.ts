/**
 * Volume resampling on the CPU, defined by PyTorch: `torch.nn.functional.interpolate` on a `[1, C, D, H, W]`
 * tensor at the output size, `mode="trilinear", align_corners=False` (linear) or `mode="nearest-exact"`
 * (nearest).
 *
 * Each axis gets a table from ATen's rules (UpSample.h, torch 1.13), computed in float32 as ATen does:
 * - linear: `scale = float(in / out)`, `src = max(scale * (i + 0.5) - 0.5, 0)`, `i0 = trunc(src)`,
 *   `i1 = min(i0 + 1, in - 1)`, `l1 = src - i0`, `l0 = 1 - l1`;
 * - nearest (nearest-exact): `i0 = i1 = min(floor((i + 0.5) * scale), in - 1)`, the input voxel whose
 *   extent holds the output voxel's centre (legacy `nearest`, `floor(i * scale)`, would shift the image by
 *   up to half an input voxel, which no affine can describe);
 * - an axis whose size does not change is copied (ATen's special case, `l0 = 1`).
 * Trilinear is separable: the passes run along columns, then rows, then slices, each
 * `l0 * a + l1 * b` per output value, the same order of operations as the WGSL kernel
 * (shaders/resample.wgsl).
 *
 * @module
 */

/** Interpolation of {@link resampleVolume}. */
export type ResampleMode = "linear" | "nearest";

/** The two taps of each output index along one axis. */
export interface AxisTable {
  readonly i0: Int32Array;
  readonly i1: Int32Array;
  readonly l0: Float32Array;
  readonly l1: Float32Array;
  /** True when the axis keeps its size (output i reads input i with weight 1). */
  readonly identity: boolean;
}

const f32 = Math.fround;

/** The table of one axis, `inSize` -> `outSize` values (see the module documentation). */
export function axisTable(inSize: number, outSize: number, mode: ResampleMode): AxisTable {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const l0 = new Float32Array(outSize).fill(1);
  const l1 = new Float32Array(outSize);
  const identity = inSize === outSize;
  const scale = f32(inSize / outSize);
  for (let i = 0; i < outSize; i++) {
    if (identity) {
      i0[i] = i1[i] = i;
    } else if (mode === "nearest") {
      i0[i] = i1[i] = Math.min(Math.floor(f32((i + 0.5) * scale)), inSize - 1);
    } else {
      const src = Math.max(f32(scale * (i + 0.5) - 0.5), 0);
      const k = Math.trunc(src);
      i0[i] = k;
      i1[i] = k < inSize - 1 ? k + 1 : k;
      l1[i] = Math.min(Math.max(f32(src - k), 0), 1);
      l0[i] = f32(1 - l1[i]);
    }
  }
  return { i0, i1, l0, l1, identity };
}

/** Along columns: `[lines, w]` -> `[lines, t.length]`. */
function passX(src: Float32Array, lines: number, w: number, t: AxisTable): Float32Array {
  const ow = t.i0.length;
  const out = new Float32Array(lines * ow);
  for (let l = 0; l < lines; l++) {
    const a = l * w;
    const b = l * ow;
    for (let x = 0; x < ow; x++) out[b + x] = t.l0[x] * src[a + t.i0[x]] + t.l1[x] * src[a + t.i1[x]];
  }
  return out;
}

/**
 * Along the middle axis of `[outer, n, inner]` -> `[outer, t.length, inner]` (rows: inner = columns;
 * slices: inner = channels x rows x columns).
 */
function passMiddle(src: Float32Array, outer: number, n: number, inner: number, t: AxisTable): Float32Array {
  const on = t.i0.length;
  const out = new Float32Array(outer * on * inner);
  for (let o = 0; o < outer; o++) {
    for (let y = 0; y < on; y++) {
      const dst = (o * on + y) * inner;
      const r0 = (o * n + t.i0[y]) * inner;
      const r1 = (o * n + t.i1[y]) * inner;
      const w0 = t.l0[y];
      const w1 = t.l1[y];
      for (let x = 0; x < inner; x++) out[dst + x] = w0 * src[r0 + x] + w1 * src[r1 + x];
    }
  }
  return out;
}

/**
 * Resamples a volume `[slices, channels, rows, cols]` (C order) to `[outSlices, channels, outRows, outCols]`,
 * equal to PyTorch's `interpolate` of the `[1, channels, slices, rows, cols]` tensor at that size (see the
 * module documentation).
 *
 * @throws RangeError when a size is not a positive integer or `src` does not hold the shape
 */
export function resampleVolume(
  src: Float32Array,
  shape: ReadonlyArray<number>,
  size: readonly [number, number, number],
  mode: ResampleMode,
): Float32Array {
  const [d, c, h, w] = shape;
  for (const v of [d, c, h, w, ...size]) {
    if (!Number.isInteger(v) || v < 1) {
      throw new RangeError(`resampleVolume: sizes must be positive, got ${v}`);
    }
  }
  if (src.length !== d * c * h * w) {
    throw new RangeError(`resampleVolume: ${src.length} values for shape [${shape.join(", ")}]`);
  }
  const [od, oh, ow] = size;
  const tz = axisTable(d, od, mode);
  const ty = axisTable(h, oh, mode);
  const tx = axisTable(w, ow, mode);
  let data = src;
  if (!tx.identity) data = passX(data, d * c * h, w, tx);
  if (!ty.identity) data = passMiddle(data, d * c, h, ow, ty);
  if (!tz.identity) data = passMiddle(data, 1, d, c * oh * ow, tz);
  return data === src ? src.slice() : data;
}
