/**
 * From decoded component planes to the output frame, as libjpeg does by default: crop the block padding,
 * upsample subsampled chroma ("fancy" triangle filter for h2v1 and h2v2, jdsample.c; replication
 * otherwise), and convert YCbCr to RGB with the fixed-point tables of jdcolor.c.
 *
 * @module
 */
import type { DecodedFrame } from "./types.ts";

/** A decoded component: sampling factors and its block-padded sample plane. */
export interface ComponentPlane {
  readonly h: number;
  readonly v: number;
  /** Size in samples (ceil(X * h / hmax), ceil(Y * v / vmax)). */
  readonly width: number;
  readonly height: number;
  /** Row stride of the block-padded plane. */
  readonly stride: number;
  readonly plane: Uint16Array;
}

/** Crops, upsamples and (when `ycc`) colour-converts the component planes into a planar frame. */
export function frameOutput(
  comps: ReadonlyArray<ComponentPlane>,
  size: { readonly rows: number; readonly cols: number; readonly precision: number },
  ycc: boolean,
): DecodedFrame {
  const { rows, cols } = size;
  const plane = rows * cols;
  const n = comps.length;
  const out = new Uint16Array(plane * n);
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  comps.forEach((c, k) =>
    upsample(c, hmax / c.h, vmax / c.v, out.subarray(k * plane, (k + 1) * plane), rows, cols)
  );
  const convert = n === 3 && ycc;
  if (convert) yccToRgb(out, plane, size.precision);
  return { samples: out, rows, cols, components: n, interleaved: false, convertedToRgb: convert };
}

/** Component plane -> full resolution: fancy h2v1 / h2v2 (jdsample.c), replication otherwise. */
function upsample(
  c: ComponentPlane,
  fx: number,
  fy: number,
  dst: Uint16Array,
  rows: number,
  cols: number,
): void {
  const src = c.plane;
  const s = c.stride;
  if (fx === 1 && fy === 1) {
    for (let y = 0; y < rows; y++) dst.set(src.subarray(y * s, y * s + cols), y * cols);
    return;
  }
  const w = c.width;
  const h = c.height;
  if (fx === 2 && (fy === 1 || fy === 2)) {
    const line = new Uint16Array(2 * w);
    const sums = new Int32Array(w + 1);
    for (let y = 0; y < rows; y++) {
      const iy = fy === 2 ? y >> 1 : y;
      if (fy === 1) {
        // h2v1: 3/4 nearer + 1/4 further pixel.
        const r = iy * s;
        line[0] = src[r];
        line[1] = (src[r] * 3 + src[r + 1] + 2) >> 2;
        for (let x = 1; x < w - 1; x++) {
          const v = src[r + x] * 3;
          line[2 * x] = (v + src[r + x - 1] + 1) >> 2;
          line[2 * x + 1] = (v + src[r + x + 1] + 2) >> 2;
        }
        if (w > 1) {
          line[2 * w - 2] = (src[r + w - 1] * 3 + src[r + w - 2] + 1) >> 2;
          line[2 * w - 1] = src[r + w - 1];
        }
      } else {
        // h2v2: 9/16, 3/16, 3/16, 1/16; the row beyond the image edge repeats the edge row.
        const near = iy * s;
        const other = y & 1 ? Math.min(iy + 1, h - 1) : Math.max(iy - 1, 0);
        const far = other * s;
        for (let x = 0; x < w + 1; x++) sums[x] = src[near + x] * 3 + src[far + x];
        line[0] = (sums[0] * 4 + 8) >> 4;
        line[1] = (sums[0] * 3 + sums[1] + 7) >> 4;
        for (let x = 1; x < w - 1; x++) {
          line[2 * x] = (sums[x] * 3 + sums[x - 1] + 8) >> 4;
          line[2 * x + 1] = (sums[x] * 3 + sums[x + 1] + 7) >> 4;
        }
        if (w > 1) {
          line[2 * w - 2] = (sums[w - 1] * 3 + sums[w - 2] + 8) >> 4;
          line[2 * w - 1] = (sums[w - 1] * 4 + 7) >> 4;
        }
      }
      dst.set(line.subarray(0, cols), y * cols);
    }
    return;
  }
  // Other sampling factors: plain replication (jdsample.c int_upsample).
  for (let y = 0; y < rows; y++) {
    const r = Math.floor(y / fy) * s;
    for (let x = 0; x < cols; x++) dst[y * cols + x] = src[r + Math.floor(x / fx)];
  }
}

/** jdcolor.c ycc_rgb_convert: fixed-point tables (SCALEBITS 16), results clamped to the sample range. */
function yccToRgb(data: Uint16Array, plane: number, precision: number): void {
  const max = (1 << precision) - 1;
  const centre = 1 << (precision - 1);
  const half = 1 << 15;
  const crR = new Int32Array(max + 1);
  const cbB = new Int32Array(max + 1);
  const crG = new Float64Array(max + 1);
  const cbG = new Float64Array(max + 1);
  for (let i = 0; i <= max; i++) {
    const x = i - centre;
    crR[i] = Math.floor((91881 * x + half) / 65536);
    cbB[i] = Math.floor((116130 * x + half) / 65536);
    crG[i] = -46802 * x;
    cbG[i] = -22554 * x + half;
  }
  for (let p = 0; p < plane; p++) {
    const y = data[p];
    const cb = data[plane + p];
    const cr = data[2 * plane + p];
    const r = y + crR[cr];
    const g = y + Math.floor((cbG[cb] + crG[cr]) / 65536);
    const b = y + cbB[cb];
    data[p] = r < 0 ? 0 : r > max ? max : r;
    data[plane + p] = g < 0 ? 0 : g > max ? max : g;
    data[2 * plane + p] = b < 0 ? 0 : b > max ? max : b;
  }
}
