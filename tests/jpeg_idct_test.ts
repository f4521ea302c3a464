/**
 * The built-in DCT decoder's IDCT (dicom/codecs/jpeg_idct.ts) against the straightforward form of libjpeg's
 * jidctint.c it replaced (tests/support/jpeg_idct_reference.ts): the same samples for every block, 8- and
 * 12-bit, sparse and dense, with coefficients and quantizers up to what corrupt data can hold (a DC
 * predictor that keeps adding, 16-bit quantization tables), and `dcOnly` equal to `run` on DC-only blocks.
 * Valid streams are also checked against dcmdjpeg (tests/decode_codecs_test.ts).
 */
import assert from "node:assert/strict";
import { Idct } from "../dicom/codecs/jpeg_idct.ts";
import { ReferenceIdct } from "./support/jpeg_idct_reference.ts";

/** A small seeded generator (mulberry32). */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const STRIDE = 13;

/** Runs both IDCTs on `coef` and `q`; the 8 x 8 outputs (at an offset, with a stride) must be equal. */
function same(precision: number, coef: Int32Array, q: Int32Array, what: string): void {
  const fast = new Uint16Array(STRIDE * 9);
  const slow = new Uint16Array(STRIDE * 9);
  new Idct(precision).run(coef, q, fast, STRIDE + 3, STRIDE);
  new ReferenceIdct(precision).run(coef, q, slow, STRIDE + 3, STRIDE);
  for (let i = 0; i < fast.length; i++) {
    if (fast[i] !== slow[i]) assert.fail(`${what}: sample ${i}: ${fast[i]}, reference ${slow[i]}`);
  }
}

for (const precision of [8, 12]) {
  Deno.test(`IDCT ${precision}-bit: equal to libjpeg's direct form on 20,000 blocks, valid to corrupt`, () => {
    const next = random(precision);
    const int = (limit: number) => Math.floor((next() * 2 - 1) * limit);
    // [coefficient limit, quantizer limit]: valid data, then what corrupt data can reach
    const ranges = [[1 << (precision + 3), 255], [1 << 15, 255], [1 << 15, 65535], [1 << 27, 65535]];
    for (let b = 0; b < 20_000; b++) {
      const [coefLimit, qLimit] = ranges[b % ranges.length];
      const coef = new Int32Array(64);
      const q = Int32Array.from({ length: 64 }, () => 1 + Math.floor(next() * qLimit));
      // from DC only to every coefficient set
      const density = b % 7 === 0 ? 0 : next() ** 2;
      coef[0] = int(coefLimit);
      for (let k = 1; k < 64; k++) if (next() < density) coef[k] = int(b % 3 === 0 ? coefLimit : 64);
      same(precision, coef, q, `block ${b}`);
    }
  });

  Deno.test(`IDCT ${precision}-bit: dcOnly equals run on DC-only blocks`, () => {
    const next = random(100 + precision);
    const idct = new Idct(precision);
    for (let b = 0; b < 5_000; b++) {
      const coef = new Int32Array(64);
      coef[0] = Math.floor((next() * 2 - 1) * (b % 2 ? 1 << 27 : 1 << (precision + 3)));
      const q = Int32Array.from({ length: 64 }, () => 1 + Math.floor(next() * (b % 3 ? 255 : 65535)));
      const viaRun = new Uint16Array(STRIDE * 9);
      const viaDc = new Uint16Array(STRIDE * 9);
      idct.run(coef, q, viaRun, STRIDE + 3, STRIDE);
      idct.dcOnly(coef[0], q, viaDc, STRIDE + 3, STRIDE);
      assert.deepEqual(viaDc, viaRun, `DC ${coef[0]}, quantizer ${q[0]}`);
    }
  });
}
