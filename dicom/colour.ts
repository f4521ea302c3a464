/**
 * Colour models -> RGB, on planar float32 stored values `[frames, 3, rows, cols]`.
 *
 * Decode always outputs RGB for colour images, and the colour transform is done exactly once: by the codec
 * when it converts itself (libjpeg-turbo for YCbCr JPEG streams, JPEG 2000 / HTJ2K for the RCT/ICT
 * multi-component transform), otherwise here.
 *
 * - YBR_FULL (and YBR_FULL_422 once the chroma is upsampled) -> RGB with the full-range ITU-R BT.601
 *   matrix of PS3.3 C.7.6.3.1.2, computed as pydicom's `convert_color_space` does (float32 products,
 *   round half up, clip to the sample range), so the two agree exactly.
 * - PALETTE COLOR: each stored index through the red, green and blue Palette Color LUTs.
 *
 * @module
 */
import type { PaletteLut } from "./lut.ts";

const f = Math.fround;
// pydicom's float32 YBR -> RGB matrix (PS3.3 C.7.6.3.1.2; ISO/IEC 10918-5 section 7).
const CR_R = f(1.402);
const CB_G = f((-0.114 * 1.772) / 0.587);
const CR_G = f((-0.299 * 1.402) / 0.587);
const CB_B = f(1.772);

/**
 * YBR_FULL -> RGB in place. `bits` is the sample precision (BitsStored): the chroma offset is 2^(bits-1)
 * and results are clipped to [0, 2^bits - 1].
 */
export function ybrFullToRgb(data: Float32Array, frames: number, plane: number, bits: number): void {
  const centre = 2 ** (bits - 1);
  const max = 2 ** bits - 1;
  const limit = max + 1;
  for (let fr = 0; fr < frames; fr++) {
    const r0 = fr * 3 * plane;
    const g0 = r0 + plane;
    const b0 = g0 + plane;
    for (let p = 0; p < plane; p++) {
      const y = data[r0 + p];
      const cb = data[g0 + p] - centre;
      const cr = data[b0 + p] - centre;
      // round half up (floor(x + 0.5)) in float32, then clip; truncation is floor for x >= 0
      const r = f(f(y + f(cr * CR_R)) + 0.5);
      const g = f(f(f(y + f(cb * CB_G)) + f(cr * CR_G)) + 0.5);
      const b = f(f(y + f(cb * CB_B)) + 0.5);
      data[r0 + p] = r < 0 ? 0 : r >= limit ? max : Math.trunc(r);
      data[g0 + p] = g < 0 ? 0 : g >= limit ? max : Math.trunc(g);
      data[b0 + p] = b < 0 ? 0 : b >= limit ? max : Math.trunc(b);
    }
  }
}

/**
 * PALETTE COLOR indices `[frames, 1, rows, cols]` -> RGB `[frames, 3, rows, cols]`. Indices below the
 * first mapped value take the first entry, indices past the table the last one (PS3.3 C.7.6.3.1.5).
 */
export function applyPalette(
  indices: Float32Array,
  frames: number,
  plane: number,
  lut: PaletteLut,
): Float32Array {
  const out = new Float32Array(frames * 3 * plane);
  const last = Math.min(lut.entries, lut.red.length) - 1;
  const first = lut.firstMapped;
  const { red, green, blue } = lut;
  for (let fr = 0; fr < frames; fr++) {
    const src = fr * plane;
    const r0 = fr * 3 * plane;
    const g0 = r0 + plane;
    const b0 = g0 + plane;
    for (let p = 0; p < plane; p++) {
      const i = indices[src + p] - first;
      const k = i <= 0 ? 0 : i >= last ? last : i;
      out[r0 + p] = red[k];
      out[g0 + p] = green[k];
      out[b0 + p] = blue[k];
    }
  }
  return out;
}
