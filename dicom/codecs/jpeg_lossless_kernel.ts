/**
 * The JPEG lossless decoder's inner loop in WebAssembly (jpeg_lossless.wat): the lines of a one-component scan
 * (every grayscale image), each sample predicted as T.81 Table H.1 says (the sample to the left on a first
 * line; selection value 1, the left one, is most lossless CT), each difference read with one lookup of the
 * decoder's 12-bit table. The module stops wherever a difference needs more (an entry that does not hold it
 * whole, a 0xFF byte other than FF00 stuffing, the end of the data); the TypeScript reader (jpeg_lossless.ts)
 * reads that one and calls again, so both give the same samples and the same errors
 * (`tests/jpeg_lossless_test.ts` holds them equal).
 *
 * One instance per JS realm (each worker thread has its own), its memory grown as frames need; where
 * WebAssembly cannot be compiled, {@link losslessKernel} is undefined and the TypeScript loop runs alone.
 *
 * @module
 */
import { JPEG_LOSSLESS_WASM_BASE64 } from "./jpeg_lossless.wasm.ts";

/** The exports of jpeg_lossless.wat (byte addresses into `memory`). */
interface Exports {
  readonly memory: WebAssembly.Memory;
  line(
    data: number,
    end: number,
    lookup: number,
    out: number,
    count: number,
    mask: number,
    predictor: number,
    up: number,
  ): number;
}

/** The reader's state the module reads and writes: pos, buf, bits, left, x (i32 at 0, 4, 8, 12, 16). */
const STATE = 0;
/** Where the plane of samples goes (u16). */
const PLANE = 64;
const PAGE = 65536;
/** The most memory an instance takes (a 16-bit plane of ~25 million samples and its data); more: TypeScript. */
const MAX_BYTES = 96 * 1024 * 1024;

/** What a run stops at. */
export interface RunState {
  /** Where the next data byte is, in the frame's bytes. */
  pos: number;
  buf: number;
  bits: number;
  /** The last sample. */
  left: number;
  /** Samples of the run written so far. */
  x: number;
}

/** One instance of the module, with the data of the scan being decoded in its memory. */
export class LosslessKernel {
  readonly #k: Exports;
  #i32: Int32Array;
  #u8: Uint8Array;
  #u16: Uint16Array;
  /** Where the scan's data and table lie; the frame offset of the data's first byte. */
  #data = 0;
  #end = 0;
  #base = 0;
  #table = 0;

  constructor(module: WebAssembly.Module) {
    this.#k = new WebAssembly.Instance(module, {}).exports as unknown as Exports;
    this.#i32 = new Int32Array(this.#k.memory.buffer);
    this.#u8 = new Uint8Array(this.#k.memory.buffer);
    this.#u16 = new Uint16Array(this.#k.memory.buffer);
  }

  /**
   * Places a scan in memory: the frame's bytes from `from` (its entropy-coded data and what follows), a plane
   * of `samples` and the lookup table (4,096 entries). False when they do not fit (then nothing is placed).
   */
  load(d: Uint8Array, from: number, samples: number, lookup: Int32Array): boolean {
    const table = align(PLANE + 2 * samples, 4);
    const data = table + 4 * lookup.length;
    if (!this.#grow(data + (d.length - from))) return false;
    this.#i32.set(lookup, table / 4);
    this.#u8.set(d.subarray(from), data);
    this.#table = table;
    this.#data = data;
    this.#end = d.length - from;
    this.#base = from;
    return true;
  }

  /**
   * Samples `s.x` to `count - 1` of a line into the plane from sample `at`, from state `s` (updated in place):
   * the first from `s.left`, the others by `predictor` (2-7 read the line above, from sample `at - count`);
   * true when the line is done, false when the next difference needs the TypeScript reader.
   */
  run(s: RunState, at: number, count: number, mask: number, predictor: number): boolean {
    const i32 = this.#i32;
    i32[STATE] = s.pos - this.#base;
    i32[STATE + 1] = s.buf;
    i32[STATE + 2] = s.bits;
    i32[STATE + 3] = s.left;
    i32[STATE + 4] = s.x;
    const out = PLANE + 2 * at;
    const status = this.#k.line(
      this.#data,
      this.#end,
      this.#table,
      out,
      count,
      mask,
      predictor,
      out - 2 * count,
    );
    s.pos = i32[STATE] + this.#base;
    s.buf = i32[STATE + 1];
    s.bits = i32[STATE + 2];
    s.left = i32[STATE + 3];
    s.x = i32[STATE + 4];
    return status === 0;
  }

  /** Sample `i` of the plane. */
  get(i: number): number {
    return this.#u16[PLANE / 2 + i];
  }

  /** Sets sample `i` of the plane (one the TypeScript reader read). */
  put(i: number, value: number): void {
    this.#u16[PLANE / 2 + i] = value;
  }

  /** The plane's first `count` samples into `out`. */
  copyPlane(out: Uint16Array, count: number): void {
    out.set(this.#u16.subarray(PLANE / 2, PLANE / 2 + count));
  }

  /** Grows the memory to `bytes` (false when it may not or cannot), refreshing the views. */
  #grow(bytes: number): boolean {
    const memory = this.#k.memory;
    if (memory.buffer.byteLength >= bytes) return true;
    if (bytes > MAX_BYTES) return false;
    try {
      memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
    } catch {
      return false; // the runtime refused the memory
    }
    this.#i32 = new Int32Array(memory.buffer);
    this.#u8 = new Uint8Array(memory.buffer);
    this.#u16 = new Uint16Array(memory.buffer);
    return true;
  }
}

const align = (n: number, to: number) => Math.ceil(n / to) * to;

let compiled: WebAssembly.Module | null | undefined;
let instance: LosslessKernel | undefined;
let disabled = false;

/** This realm's kernel; undefined where WebAssembly is not available (then the TypeScript loop runs alone). */
export function losslessKernel(): LosslessKernel | undefined {
  if (disabled) return undefined;
  if (compiled === undefined) {
    const bytes = Uint8Array.from(atob(JPEG_LOSSLESS_WASM_BASE64), (c) => c.charCodeAt(0));
    compiled = typeof WebAssembly === "object" && WebAssembly.validate(bytes)
      ? new WebAssembly.Module(bytes)
      : null;
  }
  if (compiled === null) return undefined;
  return instance ??= new LosslessKernel(compiled);
}

/** Runs `f` with the kernel off (tests: the TypeScript loop alone, to compare with). */
export function withoutLosslessKernel<T>(f: () => T): T {
  disabled = true;
  try {
    return f();
  } finally {
    disabled = false;
  }
}
