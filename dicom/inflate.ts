/**
 * Raw DEFLATE (RFC 1951) decompression with a size budget, for Deflated Explicit VR Little Endian data sets
 * (PS3.5 A.5).
 *
 * The output grows in place, chunk by chunk: the budget is asked again (with the output so far and the
 * compressed bytes read so far) before every {@link INFLATE_CHUNK} bytes of output, so a caller can tighten
 * it by the inflation ratio or raise it once the inflated header says how much pixel data follows. The
 * decompression stops as soon as the output would pass the budget, so the output never holds more than the
 * budget, and a small file that inflates to gigabytes costs no more than the budget. The buffer grows to
 * what the budget says to expect, else by doubling, never past the budget. Streams that end early and
 * corrupt streams stop with their own reason.
 *
 * @module
 */

/** Why inflation stopped early. */
export type InflateStopReason = "truncated" | "corrupt" | "limit";

/** Inflation stopped: the stream ended early, is corrupt, or inflates past the budget. */
export class InflateStop extends Error {
  constructor(readonly reason: InflateStopReason, detail: string, readonly produced: number) {
    super(detail);
    this.name = "InflateStop";
  }
}

/** Output bytes between two questions to the budget. */
export const INFLATE_CHUNK = 64 << 10;

/** What the budget allows: the most bytes the output may have, and how many it expects (sizes the buffer). */
export interface InflateAllowance {
  readonly limit: number;
  readonly expected?: number;
}

/** Asked with the output so far and the compressed bytes read so far. */
export type InflateBudget = (produced: Uint8Array, consumed: number) => InflateAllowance;

/** A Huffman decoding table: `entries[reversed code bits]` is `(length << 16) | symbol`, 0 when unused. */
interface Table {
  readonly entries: Int32Array;
  readonly mask: number;
}

const LEN_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
/** Order of the code length code lengths in a dynamic block header. */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/** A canonical Huffman table from code lengths; undefined when the lengths over-subscribe the code space. */
function buildTable(lengths: ArrayLike<number>): Table | undefined {
  const count = new Int32Array(16);
  let maxBits = 1;
  for (let s = 0; s < lengths.length; s++) {
    count[lengths[s]]++;
    if (lengths[s] > maxBits) maxBits = lengths[s];
  }
  count[0] = 0;
  let left = 1;
  const next = new Int32Array(16);
  for (let len = 1; len < 16; len++) {
    left = (left << 1) - count[len];
    if (left < 0) return undefined;
    if (len < 15) next[len + 1] = (next[len] + count[len]) << 1;
  }
  const size = 1 << maxBits;
  const entries = new Int32Array(size);
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s];
    if (len === 0) continue;
    const code = next[len]++;
    let rev = 0;
    for (let i = 0; i < len; i++) rev |= ((code >>> i) & 1) << (len - 1 - i);
    for (let i = rev; i < size; i += 1 << len) entries[i] = (len << 16) | s;
  }
  return { entries, mask: size - 1 };
}

let fixed: { readonly lit: Table; readonly dist: Table } | undefined;

/** The fixed Huffman tables of block type 1 (RFC 1951 3.2.6). */
function fixedTables(): { readonly lit: Table; readonly dist: Table } {
  if (!fixed) {
    const lit = new Uint8Array(288);
    lit.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
    fixed = { lit: buildTable(lit)!, dist: buildTable(new Uint8Array(30).fill(5))! };
  }
  return fixed;
}

/** Inflates one raw DEFLATE stream. */
export class Inflater {
  private out: Uint8Array;
  private pos = 0;
  private inPos: number;
  private bitBuf = 0;
  private bitCount = 0;
  /** Zero bytes fed past the end of the input (consuming any of their bits means the stream is cut short). */
  private phantom = 0;
  /** The budget's last answer, and the output size up to which it need not be asked again. */
  private allowance: InflateAllowance;
  private checkAt: number;
  /** Bytes of every output buffer allocated so far (the work the budget bounds). */
  private allocatedBytes: number;

  /**
   * @param src the compressed bytes
   * @param start where the stream starts in `src`
   * @param budget what the output may grow to, asked before every {@link INFLATE_CHUNK} bytes of output
   */
  constructor(
    private readonly src: Uint8Array,
    private readonly start: number,
    private readonly budget: InflateBudget,
  ) {
    this.inPos = start;
    this.allowance = budget(new Uint8Array(0), 0);
    this.checkAt = Math.min(this.allowance.limit, INFLATE_CHUNK);
    const guess = Math.max(INFLATE_CHUNK, this.allowance.expected ?? 2 * (src.length - start));
    this.out = new Uint8Array(this.sized(guess));
    this.allocatedBytes = this.out.length;
  }

  /** Output bytes produced so far. */
  get produced(): number {
    return this.pos;
  }

  /** Compressed bytes read so far. */
  get consumed(): number {
    return Math.max(0, this.inPos - this.start - ((this.bitCount >> 3) - this.phantom));
  }

  /** Bytes of the output buffer now (never past the budget's limit). */
  get capacity(): number {
    return this.out.length;
  }

  /** Bytes of every output buffer allocated so far (growth included). */
  get allocated(): number {
    return this.allocatedBytes;
  }

  /**
   * The inflated bytes.
   *
   * @throws InflateStop
   */
  run(): Uint8Array {
    for (;;) {
      const final = this.bits(1);
      const type = this.bits(2);
      if (type === 0) this.stored();
      else if (type === 1) this.codes(fixedTables().lit, fixedTables().dist);
      else if (type === 2) this.dynamic();
      else this.fail("corrupt", "a block has the reserved type 3");
      if (final) return this.out.subarray(0, this.pos);
    }
  }

  private fail(reason: InflateStopReason, detail: string): never {
    throw new InflateStop(reason, detail, this.pos);
  }

  private fill(): void {
    while (this.bitCount <= 24) {
      if (this.inPos < this.src.length) {
        this.bitBuf = (this.bitBuf | (this.src[this.inPos++] << this.bitCount)) >>> 0;
      } else {
        this.phantom++;
      }
      this.bitCount += 8;
    }
  }

  private consume(n: number): void {
    this.bitBuf >>>= n;
    this.bitCount -= n;
    if (this.phantom * 8 > this.bitCount) this.fail("truncated", "the compressed stream ends early");
  }

  private bits(n: number): number {
    if (n === 0) return 0;
    if (this.bitCount < n) this.fill();
    const v = this.bitBuf & ((1 << n) - 1);
    this.consume(n);
    return v;
  }

  private symbol(t: Table): number {
    if (this.bitCount < 16) this.fill();
    const e = t.entries[this.bitBuf & t.mask];
    if (e === 0) this.fail("corrupt", "a Huffman code is not in its table");
    this.consume(e >>> 16);
    return e & 0xffff;
  }

  /** Room for `n` more output bytes, within the budget (asked again every {@link INFLATE_CHUNK} bytes). */
  private room(n: number): void {
    const need = this.pos + n;
    if (need > this.checkAt) this.ask(need);
    if (need > this.out.length) this.grow(need);
  }

  /** `size`, or the limit when `size` passes three quarters of it. */
  private sized(size: number): number {
    const limit = this.allowance.limit;
    return size >= 0.75 * limit ? limit : size;
  }

  private ask(need: number): void {
    this.allowance = this.budget(this.out.subarray(0, this.pos), this.consumed);
    const limit = this.allowance.limit;
    if (need > limit) this.fail("limit", `the output passes ${limit} bytes`);
    this.checkAt = Math.min(limit, need + INFLATE_CHUNK);
  }

  /**
   * A larger buffer: what the budget expects when that is enough, else twice the size; never past the limit
   * (and the limit itself when the size comes within a quarter of it, so as not to grow twice more).
   */
  private grow(need: number): void {
    const expected = this.allowance.expected ?? 0;
    const size = expected >= need ? expected : Math.max(need, 2 * this.out.length);
    const grown = new Uint8Array(this.sized(size));
    grown.set(this.out.subarray(0, this.pos));
    this.out = grown;
    this.allocatedBytes += grown.length;
  }

  /** Block type 0: byte-aligned LEN, NLEN, then LEN bytes as they are. */
  private stored(): void {
    this.consume(this.bitCount & 7);
    const buffered = (this.bitCount >> 3) - this.phantom;
    if (buffered < 0) this.fail("truncated", "the compressed stream ends early");
    this.inPos -= buffered;
    this.bitBuf = this.bitCount = this.phantom = 0;
    const s = this.src;
    const p = this.inPos;
    if (p + 4 > s.length) this.fail("truncated", "the compressed stream ends inside a stored block header");
    const len = s[p] | (s[p + 1] << 8);
    if ((len ^ (s[p + 2] | (s[p + 3] << 8))) !== 0xffff) {
      this.fail("corrupt", "a stored block length is corrupt");
    }
    if (p + 4 + len > s.length) this.fail("truncated", "the compressed stream ends inside a stored block");
    this.room(len);
    this.out.set(s.subarray(p + 4, p + 4 + len), this.pos);
    this.pos += len;
    this.inPos = p + 4 + len;
  }

  /** Block type 2: the code length code, then the literal/length and distance code lengths. */
  private dynamic(): void {
    const nlit = this.bits(5) + 257;
    const ndist = this.bits(5) + 1;
    const ncl = this.bits(4) + 4;
    if (nlit > 286 || ndist > 30) this.fail("corrupt", "a dynamic block declares too many codes");
    const cl = new Uint8Array(19);
    for (let i = 0; i < ncl; i++) cl[CL_ORDER[i]] = this.bits(3);
    const clTable = buildTable(cl) ?? this.fail("corrupt", "a code length code is over-subscribed");
    const lengths = new Uint8Array(nlit + ndist);
    for (let i = 0; i < lengths.length;) {
      const sym = this.symbol(clTable);
      if (sym < 16) {
        lengths[i++] = sym;
        continue;
      }
      const [value, repeat] = sym === 16
        ? [i > 0 ? lengths[i - 1] : -1, 3 + this.bits(2)]
        : [0, sym === 17 ? 3 + this.bits(3) : 11 + this.bits(7)];
      if (value < 0 || i + repeat > lengths.length) {
        this.fail("corrupt", "code lengths repeat past their table");
      }
      lengths.fill(value, i, i + repeat);
      i += repeat;
    }
    if (lengths[256] === 0) this.fail("corrupt", "a dynamic block has no end-of-block code");
    const lit = buildTable(lengths.subarray(0, nlit));
    const dist = buildTable(lengths.subarray(nlit));
    if (!lit || !dist) this.fail("corrupt", "a Huffman code is over-subscribed");
    this.codes(lit, dist);
  }

  /** Literals and length/distance pairs up to the end-of-block code. */
  private codes(lit: Table, dist: Table): void {
    for (;;) {
      const sym = this.symbol(lit);
      if (sym < 256) {
        this.room(1);
        this.out[this.pos++] = sym;
        continue;
      }
      if (sym === 256) return;
      const li = sym - 257;
      if (li >= 29) this.fail("corrupt", "a length code is out of range");
      const length = LEN_BASE[li] + this.bits(LEN_EXTRA[li]);
      const di = this.symbol(dist);
      if (di >= 30) this.fail("corrupt", "a distance code is out of range");
      const distance = DIST_BASE[di] + this.bits(DIST_EXTRA[di]);
      if (distance > this.pos) this.fail("corrupt", "a distance points before the start of the data");
      this.room(length);
      this.copyMatch(length, distance);
    }
  }

  /** Appends `length` bytes copied from `distance` bytes back (overlapping: the last `distance` bytes repeat). */
  private copyMatch(length: number, distance: number): void {
    const out = this.out;
    const from = this.pos - distance;
    if (length < 32) {
      for (let i = 0; i < length; i++) out[this.pos + i] = out[from + i];
    } else if (distance === 1) {
      out.fill(out[from], this.pos, this.pos + length);
    } else {
      // The bytes from `from` are periodic with period `distance`; each copy doubles the periodic run.
      for (let done = 0; done < length;) {
        const n = Math.min(distance + done, length - done);
        out.copyWithin(this.pos + done, from, from + n);
        done += n;
      }
    }
    this.pos += length;
  }
}
