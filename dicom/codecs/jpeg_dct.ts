/**
 * A sequential DCT JPEG decoder (ITU-T T.81 processes 1, 2 and 4: baseline and extended, Huffman coding,
 * 8- and 12-bit samples) in pure TypeScript, for JPEG Extended 12-bit (1.2.840.10008.1.2.4.51), which the
 * 8-bit libjpeg-turbo WASM build cannot read.
 *
 * It reproduces the IJG libjpeg 6b defaults that DCMTK's `dcmdjpeg` (and libjpeg-turbo) use, step for step:
 * the integer "islow" IDCT of jidctint.c (CONST_BITS 13; PASS1_BITS 2 for 8-bit, 1 for 12-bit) with the same
 * range-limit table, "fancy" (triangle) chroma upsampling for h2v1 and h2v2 sampling (replication
 * otherwise), and the fixed-point YCbCr -> RGB tables of jdcolor.c. Its output therefore equals the
 * reference decoders' bit for bit on valid streams (the tests check it against dcmdjpeg).
 *
 * Corrupt data is an INVALID_DICOM error and data that ends early a TRUNCATED one; nothing is filled in.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import { libjpegSeesYcbcr } from "./jpeg_markers.ts";
import type { DecodedFrame, FrameCodec, FrameRequest } from "./types.ts";

/** The pure-TypeScript sequential DCT decoder as a {@link FrameCodec}. */
export const jpegDctCodec: FrameCodec = {
  name: "built-in sequential DCT JPEG decoder (8/12-bit, IJG-exact, pure TypeScript)",
  decode: (data, request) => decodeJpegDct(data, request),
};

// Zig-zag order -> natural order, with 16 extra entries so that a corrupt run length cannot index past 63.
const NATURAL = new Int32Array([
  0,
  1,
  8,
  16,
  9,
  2,
  3,
  10,
  17,
  24,
  32,
  25,
  18,
  11,
  4,
  5,
  12,
  19,
  26,
  33,
  40,
  48,
  41,
  34,
  27,
  20,
  13,
  6,
  7,
  14,
  21,
  28,
  35,
  42,
  49,
  56,
  57,
  50,
  43,
  36,
  29,
  22,
  15,
  23,
  30,
  37,
  44,
  51,
  58,
  59,
  52,
  45,
  38,
  31,
  39,
  46,
  53,
  60,
  61,
  54,
  47,
  55,
  62,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
  63,
]);

interface Huffman {
  /** 9-bit lookahead: (length << 8) | symbol, 0 when the code is longer. */
  readonly lookup: Int32Array;
  /** Largest code of each length (index 1..16), -1 when none; [17] is a sentinel. */
  readonly maxcode: Int32Array;
  /** symbols index = valoffset[length] + code. */
  readonly valoffset: Int32Array;
  readonly values: Uint8Array;
}

const LOOKAHEAD = 9;

function buildHuffman(counts: Uint8Array, values: Uint8Array, where: string): Huffman {
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(18);
  const lookup = new Int32Array(1 << LOOKAHEAD);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valoffset[len] = k - code;
      for (let i = 0; i < n; i++, k++, code++) {
        if (code >= 1 << len) throw corrupt(`${where}: a Huffman table has invalid code lengths`);
        if (len <= LOOKAHEAD) {
          const shift = LOOKAHEAD - len;
          const base = code << shift;
          for (let j = 0; j < 1 << shift; j++) lookup[base + j] = (len << 8) | values[k];
        }
      }
      maxcode[len] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { lookup, maxcode, valoffset, values };
}

function hex(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}

function corrupt(msg: string): DicomDecodeError {
  return new DicomDecodeError("INVALID_DICOM", `Corrupt JPEG data: ${msg}.`);
}

/** Entropy-coded data reader: bits MSB first, FF00 unstuffed, zeros after a marker or the end. */
class BitReader {
  pos: number;
  buf = 0;
  bits = 0;
  /** Zero bytes supplied past a marker or the end of the data. */
  fake = 0;
  /** The data ended (rather than reaching a marker). */
  ranOut = false;
  constructor(readonly d: Uint8Array, pos: number) {
    this.pos = pos;
  }
  private next(): number {
    const d = this.d;
    const p = this.pos;
    if (p >= d.length) {
      this.ranOut = true;
      this.fake++;
      return 0;
    }
    const b = d[p];
    if (b !== 0xff) {
      this.pos = p + 1;
      return b;
    }
    if (p + 1 >= d.length) {
      this.ranOut = true;
      this.fake++;
      return 0;
    }
    if (d[p + 1] === 0) {
      this.pos = p + 2;
      return 0xff;
    }
    this.fake++; // a marker: leave it for the parser
    return 0;
  }
  fill(): void {
    while (this.bits <= 16) {
      this.buf = (this.buf << 8) | this.next();
      this.bits += 8;
    }
  }
  get(n: number): number {
    if (this.bits < n) this.fill();
    this.bits -= n;
    const v = (this.buf >>> this.bits) & ((1 << n) - 1);
    this.buf &= (1 << this.bits) - 1;
    return v;
  }
  decode(h: Huffman): number {
    if (this.bits < 16) this.fill();
    const look = (this.buf >>> (this.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1);
    const hit = h.lookup[look];
    if (hit !== 0) {
      this.bits -= hit >> 8;
      this.buf &= (1 << this.bits) - 1;
      return hit & 0xff;
    }
    let len = LOOKAHEAD + 1;
    let code = (this.buf >>> (this.bits - len)) & ((1 << len) - 1);
    while (code > h.maxcode[len]) {
      len++;
      if (len > 16) throw corrupt("a Huffman code is not in its table");
      code = (this.buf >>> (this.bits - len)) & ((1 << len) - 1);
    }
    this.bits -= len;
    this.buf &= (1 << this.bits) - 1;
    return h.values[h.valoffset[len] + code];
  }
  /** Bits taken from the zeros supplied past the data: the entropy-coded segment was too short. */
  underrun(): boolean {
    return this.fake * 8 > this.bits;
  }
  /** Byte-aligns for a restart marker or the end of the scan. */
  reset(): void {
    this.buf = 0;
    this.bits = 0;
    this.fake = 0;
  }
}

/** EXTEND (T.81 F.2.2.1): the s-bit magnitude category value v as a signed number. */
function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

interface Component {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
  /** Size of the component in samples (ceil(X * h / hmax), ceil(Y * v / vmax)). */
  readonly width: number;
  readonly height: number;
  /** Block-padded sample plane. */
  readonly stride: number;
  readonly plane: Uint16Array;
  pred: number;
  dc?: Huffman;
  ac?: Huffman;
  decoded: boolean;
}

/**
 * Decodes a sequential DCT JPEG frame (SOF0 or SOF1, 8 or 12 bits) to planar samples; 3-component YCbCr
 * streams come out as RGB (libjpeg's default).
 *
 * @throws DicomDecodeError
 */
export function decodeJpegDct(d: Uint8Array, request: FrameRequest): DecodedFrame {
  const where = `frame ${request.frame}`;
  const quant: (Int32Array | undefined)[] = [];
  const dcTables: (Huffman | undefined)[] = [];
  const acTables: (Huffman | undefined)[] = [];
  let restartInterval = 0;
  let precision = 0;
  let rows = 0;
  let cols = 0;
  let comps: Component[] = [];
  let hmax = 1;
  let vmax = 1;
  let mcusX = 0;
  let mcusY = 0;
  let jfif = false;
  let adobe: number | undefined;
  let sawEoi = false;
  const block = new Int32Array(64);
  const work = new Float64Array(64);
  let range: Uint16Array | undefined;

  if (d.length < 4 || d[0] !== 0xff || d[1] !== 0xd8) throw corrupt(`${where} does not start with SOI`);
  let p = 2;
  while (p < d.length && !sawEoi) {
    // Markers may be preceded by fill bytes; skip stray bytes between segments as libjpeg does.
    if (d[p] !== 0xff) {
      p++;
      continue;
    }
    const marker = d[p + 1];
    if (marker === 0xff) {
      p++;
      continue;
    }
    if (marker === undefined) break;
    if (marker === 0xd9) {
      sawEoi = true;
      break;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01 || marker === 0x00) {
      p += 2;
      continue;
    }
    if (p + 4 > d.length) break;
    const length = (d[p + 2] << 8) | d[p + 3];
    const body = p + 4;
    const end = p + 2 + length;
    if (length < 2 || end > d.length) {
      throw new DicomDecodeError(
        "TRUNCATED",
        `The JPEG data of ${where} ends inside a marker segment: the frame was cut short; fetch the complete ` +
          "file again.",
      );
    }
    switch (marker) {
      case 0xdb: { // DQT
        let q = body;
        while (q < end) {
          const pq = d[q] >> 4;
          const tq = d[q] & 15;
          q++;
          const table = new Int32Array(64);
          for (let i = 0; i < 64; i++) {
            table[NATURAL[i]] = pq === 0 ? d[q + i] : (d[q + 2 * i] << 8) | d[q + 2 * i + 1];
          }
          q += pq === 0 ? 64 : 128;
          quant[tq] = table;
        }
        break;
      }
      case 0xc4: { // DHT
        let q = body;
        while (q < end) {
          const tc = d[q] >> 4;
          const th = d[q] & 15;
          const counts = d.subarray(q + 1, q + 17);
          const total = counts.reduce((a, b) => a + b, 0);
          const values = d.subarray(q + 17, q + 17 + total);
          if (q + 17 + total > end) throw corrupt(`${where}: a Huffman table overruns its segment`);
          (tc === 0 ? dcTables : acTables)[th] = buildHuffman(counts, values, where);
          q += 17 + total;
        }
        break;
      }
      case 0xdd: // DRI
        restartInterval = (d[body] << 8) | d[body + 1];
        break;
      case 0xe0:
        if (String.fromCharCode(...d.subarray(body, body + 5)) === "JFIF\0") jfif = true;
        break;
      case 0xee:
        if (String.fromCharCode(...d.subarray(body, body + 5)) === "Adobe") adobe = d[body + 11];
        break;
      case 0xc0:
      case 0xc1: { // SOF0, SOF1
        precision = d[body];
        rows = (d[body + 1] << 8) | d[body + 2];
        cols = (d[body + 3] << 8) | d[body + 4];
        const n = d[body + 5];
        if (precision !== 8 && precision !== 12) {
          throw new DicomDecodeError(
            "UNSUPPORTED_PIXEL_DATA",
            `JPEG DCT data of ${where} has ${precision}-bit samples (only 8 and 12 exist).`,
          );
        }
        if (rows === 0) {
          throw new DicomDecodeError(
            "UNSUPPORTED_PIXEL_DATA",
            `JPEG data of ${where} defines its height later (DNL marker), which is not supported.`,
          );
        }
        const raw = Array.from({ length: n }, (_, i) => {
          const c = body + 6 + 3 * i;
          return { id: d[c], h: d[c + 1] >> 4, v: d[c + 1] & 15, tq: d[c + 2] };
        });
        hmax = Math.max(...raw.map((c) => c.h));
        vmax = Math.max(...raw.map((c) => c.v));
        mcusX = Math.ceil(cols / (8 * hmax));
        mcusY = Math.ceil(rows / (8 * vmax));
        comps = raw.map((c) => {
          const stride = mcusX * c.h * 8;
          return {
            ...c,
            width: Math.ceil((cols * c.h) / hmax),
            height: Math.ceil((rows * c.v) / vmax),
            stride,
            plane: new Uint16Array(stride * mcusY * c.v * 8),
            pred: 0,
            decoded: false,
          };
        });
        range = rangeLimit(precision);
        break;
      }
      case 0xc2:
      case 0xc3:
      case 0xc5:
      case 0xc6:
      case 0xc7:
      case 0xc9:
      case 0xca:
      case 0xcb:
      case 0xcd:
      case 0xce:
      case 0xcf:
        throw new DicomDecodeError(
          "UNSUPPORTED_PIXEL_DATA",
          `JPEG data of ${where} uses a process this decoder does not implement (marker ` +
            `FF${hex(marker)}); only sequential Huffman DCT (SOF0/SOF1) is supported here.`,
        );
      case 0xda: { // SOS
        if (range === undefined) throw corrupt(`${where}: a scan starts before the frame header (SOF)`);
        const ns = d[body];
        const scan: Component[] = [];
        for (let i = 0; i < ns; i++) {
          const cs = d[body + 1 + 2 * i];
          const t = d[body + 2 + 2 * i];
          const c = comps.find((x) => x.id === cs);
          if (!c) throw corrupt(`${where}: a scan names component ${cs}, which the frame does not have`);
          c.dc = dcTables[t >> 4];
          c.ac = acTables[t & 15];
          if (!c.dc || !c.ac) throw corrupt(`${where}: a scan uses a Huffman table that was never defined`);
          if (!quant[c.tq]) throw corrupt(`${where}: component ${cs} uses an undefined quantization table`);
          c.pred = 0;
          scan.push(c);
        }
        p = decodeScan(
          d,
          end,
          scan,
          quant,
          restartInterval,
          mcusX,
          mcusY,
          range,
          precision,
          block,
          work,
          where,
        );
        for (const c of scan) c.decoded = true;
        continue;
      }
      default:
        break; // APPn, COM and other segments are skipped
    }
    p = end;
  }
  if (comps.length === 0) throw corrupt(`${where} has no frame header (SOF0/SOF1)`);
  const missing = comps.filter((c) => !c.decoded);
  if (missing.length > 0) {
    const ids = missing.map((c) => c.id).join(", ");
    throw new DicomDecodeError(
      "TRUNCATED",
      `The JPEG data of ${where} ends before the scan of component(s) ${ids}: the frame was cut short; ` +
        "fetch the complete file again.",
    );
  }
  return output(comps, rows, cols, precision, { jfif, adobeTransform: adobe, components: comps });
}

function decodeScan(
  d: Uint8Array,
  start: number,
  scan: Component[],
  quant: (Int32Array | undefined)[],
  restartInterval: number,
  mcusX: number,
  mcusY: number,
  range: Uint16Array,
  precision: number,
  block: Int32Array,
  work: Float64Array,
  where: string,
): number {
  const r = new BitReader(d, start);
  const single = scan.length === 1;
  // A non-interleaved scan codes the component's own blocks; an interleaved one whole MCUs.
  const c0 = scan[0];
  const unitsX = single ? Math.ceil(c0.width / 8) : mcusX;
  const unitsY = single ? Math.ceil(c0.height / 8) : mcusY;
  const total = unitsX * unitsY;
  let restarts = 0;
  const check = () => {
    if (r.underrun()) {
      if (r.ranOut) {
        throw new DicomDecodeError(
          "TRUNCATED",
          `The JPEG data of ${where} ends in the middle of its entropy-coded data: the frame was cut short; ` +
            "fetch the complete file again.",
        );
      }
      throw corrupt(`${where}: the entropy-coded data is shorter than the image (a marker came too early)`);
    }
  };
  for (let u = 0; u < total; u++) {
    if (restartInterval > 0 && u > 0 && u % restartInterval === 0) {
      check();
      r.reset();
      let q = r.pos;
      while (q < d.length && d[q] === 0xff && d[q + 1] === 0xff) q++;
      if (d[q] !== 0xff || d[q + 1] !== 0xd0 + (restarts & 7)) {
        throw corrupt(`${where}: restart marker RST${restarts & 7} is missing`);
      }
      r.pos = q + 2;
      restarts++;
      for (const c of scan) c.pred = 0;
    }
    const ux = u % unitsX;
    const uy = (u - ux) / unitsX;
    if (single) {
      decodeBlock(r, c0, block);
      idctIslow(
        block,
        quant[c0.tq]!,
        c0.plane,
        (uy * 8) * c0.stride + ux * 8,
        c0.stride,
        range,
        precision,
        work,
      );
    } else {
      for (const c of scan) {
        for (let v = 0; v < c.v; v++) {
          for (let h = 0; h < c.h; h++) {
            decodeBlock(r, c, block);
            const by = uy * c.v + v;
            const bx = ux * c.h + h;
            idctIslow(
              block,
              quant[c.tq]!,
              c.plane,
              by * 8 * c.stride + bx * 8,
              c.stride,
              range,
              precision,
              work,
            );
          }
        }
      }
    }
  }
  check();
  // Continue at the next marker.
  let q = r.pos;
  while (q + 1 < d.length && !(d[q] === 0xff && d[q + 1] !== 0 && d[q + 1] !== 0xff)) q++;
  return q;
}

function decodeBlock(r: BitReader, c: Component, block: Int32Array): void {
  block.fill(0);
  const t = r.decode(c.dc!);
  if (t > 16) throw corrupt("a DC difference category is out of range");
  const diff = t === 0 ? 0 : extend(r.get(t), t);
  c.pred += diff;
  block[0] = c.pred;
  const ac = c.ac!;
  for (let k = 1; k < 64;) {
    const rs = r.decode(ac);
    const run = rs >> 4;
    const s = rs & 15;
    if (s !== 0) {
      k += run;
      block[NATURAL[k]] = extend(r.get(s), s);
      k++;
    } else if (run === 15) {
      k += 16;
    } else {
      break;
    }
  }
}

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

/**
 * IJG jpeg_idct_islow: dequantize, 2-D inverse DCT in two 1-D passes, level shift and range limit through
 * the post-IDCT table, written into `out` at `offset` with row stride `stride`.
 */
function idctIslow(
  coef: Int32Array,
  q: Int32Array,
  out: Uint16Array,
  offset: number,
  stride: number,
  range: Uint16Array,
  precision: number,
  ws: Float64Array,
): void {
  const pass1 = precision === 8 ? 2 : 1;
  const mask = range.length - 1;
  const shift1 = 13 - pass1;
  const shift2 = 13 + pass1 + 3;
  // Pass 1: columns.
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
  // Pass 2: rows.
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

/** C's `(int)` cast of a workspace value: wraps to 32 bits. */
function toInt(x: number): number {
  return x | 0;
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

/** Crops, upsamples and colour-converts the component planes as libjpeg does by default. */
function output(
  comps: Component[],
  rows: number,
  cols: number,
  precision: number,
  markers: { readonly jfif: boolean; readonly adobeTransform?: number; readonly components: Component[] },
): DecodedFrame {
  const plane = rows * cols;
  const n = comps.length;
  const out = new Uint16Array(plane * n);
  const hmax = Math.max(...comps.map((c) => c.h));
  const vmax = Math.max(...comps.map((c) => c.v));
  comps.forEach((c, k) =>
    upsample(c, hmax / c.h, vmax / c.v, out.subarray(k * plane, (k + 1) * plane), rows, cols)
  );
  const ycc = n === 3 && libjpegSeesYcbcr(markers);
  if (ycc) yccToRgb(out, plane, precision);
  return { samples: out, rows, cols, components: n, interleaved: false, convertedToRgb: ycc };
}

/** Component plane -> full resolution: fancy h2v1 / h2v2 (jdsample.c), replication otherwise. */
function upsample(c: Component, fx: number, fy: number, dst: Uint16Array, rows: number, cols: number): void {
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
