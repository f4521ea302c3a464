/**
 * The reference for `dicom/codecs/jpeg_idct.ts` (tests only): libjpeg's jidctint.c written as directly as
 * it reads, DESCALE as a division by 2^n and no shortcut for DC-only blocks - the decoder's IDCT before it
 * was made faster, kept so that `tests/jpeg_idct_test.ts` can hold the fast form equal to it.
 *
 * @module
 */

// jidctint.c constants (CONST_BITS 13).
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711336 = 25172;
const CONST_SCALE = 8192; // 1 << CONST_BITS

/** DESCALE: round and arithmetic-shift right (exact on doubles; C uses 64-bit longs here). */
function descale(x: number, n: number): number {
  return Math.floor((x + 2 ** (n - 1)) / 2 ** n);
}

/** C's `(int)` cast of a workspace value: wraps to 32 bits. */
function toInt(x: number): number {
  return x | 0;
}

/** The integer "islow" IDCT of one sample precision: dequantize, two 1-D passes, level shift, range limit. */
export class ReferenceIdct {
  private readonly pass1: number;
  private readonly shift1: number;
  private readonly shift2: number;
  private readonly range: Uint16Array;
  private readonly mask: number;
  /** The workspace between the passes (doubles: the products exceed 32 bits). */
  private readonly ws = new Float64Array(64);

  constructor(precision: number) {
    this.pass1 = precision === 8 ? 2 : 1;
    this.shift1 = 13 - this.pass1;
    this.shift2 = 13 + this.pass1 + 3;
    this.range = rangeLimit(precision);
    this.mask = this.range.length - 1;
  }

  /** Block `coef` (natural order) dequantized by `q`, into `out` at `offset` with row stride `stride`. */
  run(coef: Int32Array, q: Int32Array, out: Uint16Array, offset: number, stride: number): void {
    this.columns(coef, q);
    this.rows(out, offset, stride);
  }

  /** Pass 1: columns, from the coefficients into the workspace. */
  private columns(coef: Int32Array, q: Int32Array): void {
    const { ws, pass1, shift1 } = this;
    for (let c = 0; c < 8; c++) {
      if (
        coef[8 + c] === 0 && coef[16 + c] === 0 && coef[24 + c] === 0 && coef[32 + c] === 0 &&
        coef[40 + c] === 0 && coef[48 + c] === 0 && coef[56 + c] === 0
      ) {
        const dc = coef[c] * q[c] * (1 << pass1);
        for (let k = 0; k < 8; k++) ws[8 * k + c] = dc;
        continue;
      }
      let z2 = coef[16 + c] * q[16 + c];
      let z3 = coef[48 + c] * q[48 + c];
      let z1 = (z2 + z3) * FIX_0_541196100;
      let tmp2 = z1 + z3 * -FIX_1_847759065;
      let tmp3 = z1 + z2 * FIX_0_765366865;
      z2 = coef[c] * q[c];
      z3 = coef[32 + c] * q[32 + c];
      let tmp0 = (z2 + z3) * CONST_SCALE;
      let tmp1 = (z2 - z3) * CONST_SCALE;
      const tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      const tmp11 = tmp1 + tmp2;
      const tmp12 = tmp1 - tmp2;
      tmp0 = coef[56 + c] * q[56 + c];
      tmp1 = coef[40 + c] * q[40 + c];
      tmp2 = coef[24 + c] * q[24 + c];
      tmp3 = coef[8 + c] * q[8 + c];
      z1 = tmp0 + tmp3;
      z2 = tmp1 + tmp2;
      z3 = tmp0 + tmp2;
      let z4 = tmp1 + tmp3;
      const z5 = (z3 + z4) * FIX_1_175875602;
      tmp0 *= FIX_0_298631336;
      tmp1 *= FIX_2_053119869;
      tmp2 *= FIX_3_072711336;
      tmp3 *= FIX_1_501321110;
      z1 *= -FIX_0_899976223;
      z2 *= -FIX_2_562915447;
      z3 *= -FIX_1_961570560;
      z4 *= -FIX_0_390180644;
      z3 += z5;
      z4 += z5;
      tmp0 += z1 + z3;
      tmp1 += z2 + z4;
      tmp2 += z2 + z3;
      tmp3 += z1 + z4;
      ws[c] = toInt(descale(tmp10 + tmp3, shift1));
      ws[56 + c] = toInt(descale(tmp10 - tmp3, shift1));
      ws[8 + c] = toInt(descale(tmp11 + tmp2, shift1));
      ws[48 + c] = toInt(descale(tmp11 - tmp2, shift1));
      ws[16 + c] = toInt(descale(tmp12 + tmp1, shift1));
      ws[40 + c] = toInt(descale(tmp12 - tmp1, shift1));
      ws[24 + c] = toInt(descale(tmp13 + tmp0, shift1));
      ws[32 + c] = toInt(descale(tmp13 - tmp0, shift1));
    }
  }

  /** Pass 2: rows, from the workspace into the output with level shift and range limit. */
  private rows(out: Uint16Array, offset: number, stride: number): void {
    const { ws, pass1, shift2, range, mask } = this;
    for (let r = 0; r < 8; r++) {
      const w = 8 * r;
      const o = offset + r * stride;
      if (
        ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 && ws[w + 5] === 0 &&
        ws[w + 6] === 0 && ws[w + 7] === 0
      ) {
        const v = range[descale(ws[w], pass1 + 3) & mask];
        for (let k = 0; k < 8; k++) out[o + k] = v;
        continue;
      }
      let z2 = ws[w + 2];
      let z3 = ws[w + 6];
      let z1 = (z2 + z3) * FIX_0_541196100;
      let tmp2 = z1 + z3 * -FIX_1_847759065;
      let tmp3 = z1 + z2 * FIX_0_765366865;
      let tmp0 = (ws[w] + ws[w + 4]) * CONST_SCALE;
      let tmp1 = (ws[w] - ws[w + 4]) * CONST_SCALE;
      const tmp10 = tmp0 + tmp3;
      const tmp13 = tmp0 - tmp3;
      const tmp11 = tmp1 + tmp2;
      const tmp12 = tmp1 - tmp2;
      tmp0 = ws[w + 7];
      tmp1 = ws[w + 5];
      tmp2 = ws[w + 3];
      tmp3 = ws[w + 1];
      z1 = tmp0 + tmp3;
      z2 = tmp1 + tmp2;
      z3 = tmp0 + tmp2;
      let z4 = tmp1 + tmp3;
      const z5 = (z3 + z4) * FIX_1_175875602;
      tmp0 *= FIX_0_298631336;
      tmp1 *= FIX_2_053119869;
      tmp2 *= FIX_3_072711336;
      tmp3 *= FIX_1_501321110;
      z1 *= -FIX_0_899976223;
      z2 *= -FIX_2_562915447;
      z3 *= -FIX_1_961570560;
      z4 *= -FIX_0_390180644;
      z3 += z5;
      z4 += z5;
      tmp0 += z1 + z3;
      tmp1 += z2 + z4;
      tmp2 += z2 + z3;
      tmp3 += z1 + z4;
      out[o] = range[descale(tmp10 + tmp3, shift2) & mask];
      out[o + 7] = range[descale(tmp10 - tmp3, shift2) & mask];
      out[o + 1] = range[descale(tmp11 + tmp2, shift2) & mask];
      out[o + 6] = range[descale(tmp11 - tmp2, shift2) & mask];
      out[o + 2] = range[descale(tmp12 + tmp1, shift2) & mask];
      out[o + 5] = range[descale(tmp12 - tmp1, shift2) & mask];
      out[o + 3] = range[descale(tmp13 + tmp0, shift2) & mask];
      out[o + 4] = range[descale(tmp13 - tmp0, shift2) & mask];
    }
  }
}

/**
 * The post-IDCT range-limit table of jdmaster.c `prepare_range_limit_table`, indexed by
 * `value & (4 * (MAXJSAMPLE + 1) - 1)`: level shift by CENTERJSAMPLE and clamp, with the same wrap-around
 * for wildly out-of-range values.
 */
export function rangeLimit(precision: number): Uint16Array {
  const max = (1 << precision) - 1;
  const centre = 1 << (precision - 1);
  const t = new Uint16Array(4 * (max + 1));
  for (let i = 0; i < centre; i++) t[i] = centre + i;
  for (let i = centre; i < 2 * (max + 1); i++) t[i] = max;
  // [2 (max+1), 4 (max+1) - centre) stays 0
  for (let i = 0; i < centre; i++) t[4 * (max + 1) - centre + i] = i;
  return t;
}
