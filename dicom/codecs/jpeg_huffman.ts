/**
 * Huffman-coded JPEG data (ITU-T T.81 F.2): code tables, the entropy-coded segment reader, and the
 * coefficients of one 8 x 8 block, for the sequential DCT decoder (jpeg_dct.ts).
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";

/** A decoding table built from a DHT segment. */
export interface Huffman {
  /** 9-bit lookahead: (length << 8) | symbol, 0 when the code is longer. */
  readonly lookup: Int32Array;
  /** Largest code of each length (index 1..16), -1 when none; [17] is a sentinel. */
  readonly maxcode: Int32Array;
  /** symbols index = valoffset[length] + code. */
  readonly valoffset: Int32Array;
  readonly values: Uint8Array;
}

const LOOKAHEAD = 9;

/** Zig-zag order -> natural order (T.81 Figure A.6), with 16 extra entries so a corrupt run cannot pass 63. */
export const NATURAL: Int32Array = zigzag();

function zigzag(): Int32Array {
  const out = new Int32Array(80).fill(63);
  let i = 0;
  for (let sum = 0; sum < 15; sum++) {
    const lo = Math.max(0, sum - 7);
    const hi = Math.min(sum, 7);
    for (let k = 0; k <= hi - lo; k++) {
      const row = sum % 2 === 0 ? hi - k : lo + k;
      out[i++] = row * 8 + (sum - row);
    }
  }
  return out;
}

/** INVALID_DICOM for corrupt JPEG data. */
export function corrupt(msg: string): DicomDecodeError {
  return new DicomDecodeError("INVALID_DICOM", `Corrupt JPEG data: ${msg}.`);
}

/** The decoding table of the code lengths `counts` (16 values) and `values`. */
export function buildHuffman(counts: Uint8Array, values: Uint8Array, where: string): Huffman {
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

/** Entropy-coded data reader: bits MSB first, FF00 unstuffed, zeros after a marker or the end. */
export class BitReader {
  pos: number;
  private buf = 0;
  private bits = 0;
  /** Zero bytes supplied past a marker or the end of the data. */
  private fake = 0;
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

  private fill(): void {
    while (this.bits <= 16) {
      this.buf = (this.buf << 8) | this.next();
      this.bits += 8;
    }
  }

  /** `n` bits as an unsigned number. */
  get(n: number): number {
    if (this.bits < n) this.fill();
    this.bits -= n;
    const v = (this.buf >>> this.bits) & ((1 << n) - 1);
    this.buf &= (1 << this.bits) - 1;
    return v;
  }

  /** One symbol of table `h`. */
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

/**
 * The quantized coefficients of one block (natural order) into `block`; returns the new DC predictor.
 *
 * @throws DicomDecodeError INVALID_DICOM for codes that are not in their tables
 */
export function decodeBlock(r: BitReader, dc: Huffman, ac: Huffman, pred: number, block: Int32Array): number {
  block.fill(0);
  const t = r.decode(dc);
  if (t > 16) throw corrupt("a DC difference category is out of range");
  const value = pred + (t === 0 ? 0 : extend(r.get(t), t));
  block[0] = value;
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
  return value;
}
