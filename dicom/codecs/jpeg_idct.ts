/**
 * The inverse DCT of IJG libjpeg's jidctint.c (`jpeg_idct_islow`, CONST_BITS 13; PASS1_BITS 2 for 8-bit
 * and 1 for 12-bit samples), with its post-IDCT range-limit table (jdmaster.c), so that the built-in
 * decoder's output equals DCMTK's and libjpeg-turbo's bit for bit.
 *
 * The arithmetic is done on doubles, which hold libjpeg's 64-bit intermediate products exactly (12-bit
 * samples overflow 32 bits). DESCALE, libjpeg's rounding right shift, is `Math.floor((x + half) * 2^-n)`:
 * scaling by a power of two is exact on doubles, so this equals the shift without a division.
 * `tests/jpeg_idct_test.ts` holds it equal to the straightforward form, including out-of-range blocks.
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

/** A DESCALE by `n` bits: add `half`, then scale by `inverse` (2^-n) and floor. */
interface Descale {
  readonly half: number;
  readonly inverse: number;
}

const descaleBy = (n: number): Descale => ({ half: 2 ** (n - 1), inverse: 2 ** -n });

/** The integer "islow" IDCT of one sample precision: dequantize, two 1-D passes, level shift, range limit. */
export class Idct {
  /** 2^PASS1_BITS. */
  private readonly scale1: number;
  /** Pass 1's DESCALE (CONST_BITS - PASS1_BITS). */
  private readonly d1: Descale;
  /** Pass 2's DESCALE (CONST_BITS + PASS1_BITS + 3). */
  private readonly d2: Descale;
  /** Pass 2's DESCALE of a row with only its first value (PASS1_BITS + 3). */
  private readonly dRow: Descale;
  private readonly range: Uint16Array;
  private readonly mask: number;
  /** The workspace between the passes (doubles: the products exceed 32 bits). */
  private readonly ws = new Float64Array(64);

  constructor(precision: number) {
    const pass1 = precision === 8 ? 2 : 1;
    this.scale1 = 2 ** pass1;
    this.d1 = descaleBy(13 - pass1);
    this.d2 = descaleBy(13 + pass1 + 3);
    this.dRow = descaleBy(pass1 + 3);
    this.range = rangeLimit(precision);
    this.mask = this.range.length - 1;
  }

  /** Block `coef` (natural order) dequantized by `q`, into `out` at `offset` with row stride `stride`. */
  run(coef: Int32Array, q: Int32Array, out: Uint16Array, offset: number, stride: number): void {
    this.columns(coef, q);
    this.rows(out, offset, stride);
  }

  /**
   * A block whose coefficients are all 0 but the DC one (`dc`, quantized): what {@link run} gives for it
   * (every column but the first is 0, every row holds only its first value), one sample repeated.
   */
  dcOnly(dc: number, q: Int32Array, out: Uint16Array, offset: number, stride: number): void {
    const { half, inverse } = this.dRow;
    const v = this.range[Math.floor((dc * q[0] * this.scale1 + half) * inverse) & this.mask];
    for (let r = 0, o = offset; r < 8; r++, o += stride) out.fill(v, o, o + 8);
  }

  /** Pass 1: columns, from the coefficients into the workspace (libjpeg's `(int)` casts wrap to 32 bits). */
  private columns(coef: Int32Array, q: Int32Array): void {
    const { ws, scale1 } = this;
    const { half, inverse } = this.d1;
    for (let c = 0; c < 8; c++) {
      if (
        coef[8 + c] === 0 && coef[16 + c] === 0 && coef[24 + c] === 0 && coef[32 + c] === 0 &&
        coef[40 + c] === 0 && coef[48 + c] === 0 && coef[56 + c] === 0
      ) {
        const dc = coef[c] * q[c] * scale1;
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
      ws[c] = Math.floor((tmp10 + tmp3 + half) * inverse) | 0;
      ws[56 + c] = Math.floor((tmp10 - tmp3 + half) * inverse) | 0;
      ws[8 + c] = Math.floor((tmp11 + tmp2 + half) * inverse) | 0;
      ws[48 + c] = Math.floor((tmp11 - tmp2 + half) * inverse) | 0;
      ws[16 + c] = Math.floor((tmp12 + tmp1 + half) * inverse) | 0;
      ws[40 + c] = Math.floor((tmp12 - tmp1 + half) * inverse) | 0;
      ws[24 + c] = Math.floor((tmp13 + tmp0 + half) * inverse) | 0;
      ws[32 + c] = Math.floor((tmp13 - tmp0 + half) * inverse) | 0;
    }
  }

  /** Pass 2: rows, from the workspace into the output with level shift and range limit. */
  private rows(out: Uint16Array, offset: number, stride: number): void {
    const { ws, range, mask } = this;
    const { half, inverse } = this.d2;
    const row = this.dRow;
    for (let r = 0; r < 8; r++) {
      const w = 8 * r;
      const o = offset + r * stride;
      if (
        ws[w + 1] === 0 && ws[w + 2] === 0 && ws[w + 3] === 0 && ws[w + 4] === 0 && ws[w + 5] === 0 &&
        ws[w + 6] === 0 && ws[w + 7] === 0
      ) {
        const v = range[Math.floor((ws[w] + row.half) * row.inverse) & mask];
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
      out[o] = range[Math.floor((tmp10 + tmp3 + half) * inverse) & mask];
      out[o + 7] = range[Math.floor((tmp10 - tmp3 + half) * inverse) & mask];
      out[o + 1] = range[Math.floor((tmp11 + tmp2 + half) * inverse) & mask];
      out[o + 6] = range[Math.floor((tmp11 - tmp2 + half) * inverse) & mask];
      out[o + 2] = range[Math.floor((tmp12 + tmp1 + half) * inverse) & mask];
      out[o + 5] = range[Math.floor((tmp12 - tmp1 + half) * inverse) & mask];
      out[o + 3] = range[Math.floor((tmp13 + tmp0 + half) * inverse) & mask];
      out[o + 4] = range[Math.floor((tmp13 - tmp0 + half) * inverse) & mask];
    }
  }
}

/**
 * The post-IDCT range-limit table of jdmaster.c `prepare_range_limit_table`, indexed by
 * `value & (4 * (MAXJSAMPLE + 1) - 1)`: level shift by CENTERJSAMPLE and clamp, with the same wrap-around
 * for wildly out-of-range values.
 */
function rangeLimit(precision: number): Uint16Array {
  const max = (1 << precision) - 1;
  const centre = 1 << (precision - 1);
  const t = new Uint16Array(4 * (max + 1));
  for (let i = 0; i < centre; i++) t[i] = centre + i;
  for (let i = centre; i < 2 * (max + 1); i++) t[i] = max;
  // [2 (max+1), 4 (max+1) - centre) stays 0
  for (let i = 0; i < centre; i++) t[4 * (max + 1) - centre + i] = i;
  return t;
}
