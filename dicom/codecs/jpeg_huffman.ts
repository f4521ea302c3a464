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
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    const n = counts[len - 1];
    if (n > 0) {
      valoffset[len] = k - code;
      for (let i = 0; i < n; i++, k++, code++) {
        if (code >= 1 << len) throw corrupt(`${where}: a Huffman table has invalid code lengths`);
      }
      maxcode[len] = code - 1;
    }
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  const lookup = codeLookup(counts, values, LOOKAHEAD, (len, symbol) => (len << 8) | symbol);
  return { lookup, maxcode, valoffset, values };
}

/**
 * A `look`-bit lookup of the codes of a Huffman table (its 16 code-length `counts` and its `values`, checked
 * by {@link buildHuffman}): the 2^(look - len) entries that start with a code of `len <= look` bits hold
 * `entry(len, symbol, rest, free)`, `rest` being the `free` bits that follow the code; the others 0.
 */
export function codeLookup(
  counts: Uint8Array,
  values: Uint8Array,
  look: number,
  entry: (len: number, symbol: number, rest: number, free: number) => number,
): Int32Array {
  const lookup = new Int32Array(1 << look);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= look; len++, code <<= 1) {
    for (let i = 0; i < counts[len - 1]; i++, k++, code++) {
      const free = look - len;
      for (let rest = 0; rest < 1 << free; rest++) {
        lookup[(code << free) | rest] = entry(len, values[k], rest, free);
      }
    }
  }
  return lookup;
}

/**
 * The bytes of entropy-coded data, for the bit readers built on it: FF00 unstuffed, zeros supplied past a
 * marker or the end of the data (counted, so that a scan that used them is found short), and a bit buffer.
 */
export class EntropyBytes implements EntropyReader {
  /** Valid bits at the bottom of `buf`, the oldest first. */
  protected buf = 0;
  protected bits = 0;
  /** Zero bytes supplied past a marker or the end of the data. */
  protected fake = 0;
  /** The data ended (rather than reaching a marker). */
  ranOut = false;

  constructor(readonly d: Uint8Array, public pos: number) {}

  /** The next data byte, or 0 past a marker (left for the parser) or the end of the data. */
  protected nextByte(): number {
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

  /** Tops the buffer up to more than 24 bits (the oldest valid bit stays below bit 32). */
  protected fill(): void {
    while (this.bits <= 24) {
      this.buf = (this.buf << 8) | this.nextByte();
      this.bits += 8;
    }
  }

  /** Bits taken from the zeros supplied past the data: the entropy-coded segment was too short. */
  underrun(): boolean {
    return this.fake * 8 > this.bits;
  }

  /**
   * Byte-aligns for a restart marker or the end of the scan. The reader never reads past a marker (it supplies
   * zeros there), so what is left in the buffer is padding, and `pos` is at the marker.
   */
  reset(): void {
    this.buf = 0;
    this.bits = 0;
    this.fake = 0;
  }
}

/**
 * The tables of a DHT segment (`body` to `end` of `d`), each handed to `define` with its class (0 DC or
 * lossless, 1 AC), its identifier, its 16 code-length counts and its values.
 *
 * @throws DicomDecodeError INVALID_DICOM when a table overruns the segment
 */
export function readHuffmanTables(
  d: Uint8Array,
  body: number,
  end: number,
  where: string,
  define: (tc: number, th: number, counts: Uint8Array, values: Uint8Array) => void,
): void {
  for (let q = body; q < end;) {
    const counts = d.subarray(q + 1, q + 17);
    const total = counts.reduce((a, b) => a + b, 0);
    if (q + 17 + total > end) throw corrupt(`${where}: a Huffman table overruns its segment`);
    define(d[q] >> 4, d[q] & 15, counts, d.subarray(q + 17, q + 17 + total));
    q += 17 + total;
  }
}

/**
 * Entropy-coded data reader for DCT blocks: bits MSB first, from a buffer topped up to more than 24 bits
 * (the bits above the valid ones are left as they are and masked off when read, as in the lossless reader).
 */
export class BitReader extends EntropyBytes {
  /** `n` (at most 16) bits as an unsigned number. */
  get(n: number): number {
    if (this.bits < n) this.fill();
    this.bits -= n;
    return (this.buf >>> this.bits) & ((1 << n) - 1);
  }

  /** One symbol of table `h`. */
  decode(h: Huffman): number {
    if (this.bits < 16) this.fill();
    const hit = h.lookup[(this.buf >>> (this.bits - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (hit !== 0) {
      this.bits -= hit >> 8;
      return hit & 0xff;
    }
    const long = longCode(h, this.buf, this.bits, LOOKAHEAD + 1);
    this.bits -= long >> 8;
    return long & 0xff;
  }

  /**
   * The quantized coefficients of one block (natural order) into `block`, which must hold zeros (see
   * {@link clearBlock}); the DC coefficient, the component's new predictor, is `block[0]`. Returns the
   * zig-zag index of the last coefficient written: 0 when the block has only its DC coefficient.
   *
   * @throws DicomDecodeError INVALID_DICOM for codes that are not in their tables
   */
  readBlock(dc: Huffman, ac: AcTable, pred: number, block: Int32Array): number {
    const t = this.decode(dc);
    if (t > 16) throw corrupt("a DC difference category is out of range");
    block[0] = pred + (t === 0 ? 0 : extend(this.get(t), t));
    const lookup = ac.lookup;
    let last = 0;
    for (let k = 1; k < 64;) {
      if (this.bits < 16) this.fill();
      const e = lookup[(this.buf >>> (this.bits - AC_LOOK)) & AC_MASK];
      if (e >= AC_FULL) {
        // The code and its value bits in one lookup.
        k += (e >> 21) & 15;
        this.bits -= (e >> 16) & 31;
        block[NATURAL[k]] = (e & 0xffff) - 32768;
        last = k++;
        continue;
      }
      const code = e !== 0 ? e : longCode(ac.huffman, this.buf, this.bits, AC_LOOK + 1);
      this.bits -= code >> 8;
      const run = (code >> 4) & 15;
      const s = code & 15;
      if (s !== 0) {
        k += run;
        block[NATURAL[k]] = extend(this.get(s), s);
        last = k++;
      } else if (run === 15) {
        k += 16;
      } else {
        break;
      }
    }
    return last;
  }
}

/** Zeroes what {@link BitReader.readBlock} wrote, up to zig-zag index `last`, for the next block. */
export function clearBlock(block: Int32Array, last: number): void {
  block[0] = 0;
  for (let k = 1; k <= last; k++) block[NATURAL[k]] = 0;
}

/** Bits an AC lookup reads at once: most coefficients (code and value bits) take one lookup. */
const AC_LOOK = 12;
const AC_MASK = (1 << AC_LOOK) - 1;
/** A lookup entry that holds a whole coefficient: `AC_FULL | run << 21 | bits << 16 | value + 32768`. */
const AC_FULL = 1 << 30;

/**
 * An AC table: the Huffman table of a DHT segment, plus an {@link AC_LOOK}-bit lookup whose entries give a
 * whole coefficient (its zero run, value and the bits it takes) where its code and value bits fit, else the
 * code's length and symbol (`len << 8 | rs`, end of block and ZRL among them), or 0 for a longer code.
 */
export interface AcTable {
  readonly huffman: Huffman;
  readonly lookup: Int32Array;
}

/** The AC table of the code lengths `counts` (16 values) and symbols `values` (run << 4 | size). */
export function acTable(counts: Uint8Array, values: Uint8Array, where: string): AcTable {
  const huffman = buildHuffman(counts, values, where);
  const lookup = codeLookup(counts, values, AC_LOOK, (len, rs, rest, free) => {
    const s = rs & 15;
    return s !== 0 && len + s <= AC_LOOK
      ? AC_FULL | (rs >> 4) << 21 | (len + s) << 16 | (extend(rest >> (free - s), s) + 32768)
      : (len << 8) | rs;
  });
  return { huffman, lookup };
}

/**
 * A code of `h` at least `from` bits long at the top of `buf` (which holds `bits` valid bits, at least 16):
 * `length << 8 | symbol`.
 *
 * @throws DicomDecodeError INVALID_DICOM when no code of 16 bits or fewer matches
 */
export function longCode(h: Huffman, buf: number, bits: number, from: number): number {
  let len = from;
  let code = (buf >>> (bits - len)) & ((1 << len) - 1);
  while (code > h.maxcode[len]) {
    if (++len > 16) throw corrupt("a Huffman code is not in its table");
    code = (buf >>> (bits - len)) & ((1 << len) - 1);
  }
  return (len << 8) | h.values[h.valoffset[len] + code];
}

/** What the scan loops need of an entropy-coded data reader (this file's, or the lossless decoder's). */
export interface EntropyReader {
  /** The JPEG stream. */
  readonly d: Uint8Array;
  /** Where the next byte is read. */
  pos: number;
  /** The data ended (rather than reaching a marker). */
  readonly ranOut: boolean;
  /** Bits were taken from the zeros supplied past the data. */
  underrun(): boolean;
  /** Byte-aligns (drops what is buffered). */
  reset(): void;
}

/**
 * The entropy-coded data must not have run out (TRUNCATED: the end of the data) or into a marker
 * (INVALID_DICOM). `what` names the data in messages ("JPEG", "JPEG lossless").
 */
function checkEntropyData(r: EntropyReader, where: string, what: string): void {
  if (!r.underrun()) return;
  if (r.ranOut) {
    throw new DicomDecodeError(
      "TRUNCATED",
      `The ${what} data of ${where} ends in the middle of its entropy-coded data: the frame was cut short; ` +
        "fetch the complete file again.",
    );
  }
  throw corrupt(`${where}: the entropy-coded data is shorter than the image (a marker came too early)`);
}

/** The end of a scan: its data must be whole (see {@link checkEntropyData}); where the next marker is. */
export function endOfScan(r: EntropyReader, where: string, what: string): number {
  checkEntropyData(r, where, what);
  const d = r.d;
  let q = r.pos;
  while (q + 1 < d.length && !(d[q] === 0xff && d[q + 1] !== 0 && d[q + 1] !== 0xff)) q++;
  return q;
}

/** TRUNCATED: the data ended before the scans of components `ids`. */
export function scansMissing(ids: ReadonlyArray<number>, where: string, what: string): DicomDecodeError {
  return new DicomDecodeError(
    "TRUNCATED",
    `The ${what} data of ${where} ends before the scan of component(s) ${
      ids.join(", ")
    }: the frame was cut ` +
      "short; fetch the complete file again.",
  );
}

/** The restart marker RSTn expected after a restart interval: checks the interval, then moves past it. */
export function passRestart(r: EntropyReader, n: number, where: string, what: string): void {
  checkEntropyData(r, where, what);
  r.reset();
  const d = r.d;
  let q = r.pos;
  while (q < d.length && d[q] === 0xff && d[q + 1] === 0xff) q++;
  if (d[q] !== 0xff || d[q + 1] !== 0xd0 + (n & 7)) {
    throw corrupt(`${where}: restart marker RST${n & 7} is missing`);
  }
  r.pos = q + 2;
}

/** EXTEND (T.81 F.2.2.1): the s-bit magnitude category value v as a signed number. */
export function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}
