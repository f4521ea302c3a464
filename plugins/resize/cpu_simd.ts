/**
 * The CPU resize passes in WebAssembly SIMD (resize_simd.wat), behind {@link resizePlanes}.
 *
 * Same tables and the same pass order as the JS passes in cpu.ts (width pass, then height pass, as ATen's
 * `_upsample_bilinear2d_aa`): per plane, the width pass copies 64 input rows at a time into the module's
 * memory and runs over them in strips of 16 rows (transpose, vertical-style pass, transpose back, all in L1),
 * the height pass runs over whole rows 16 columns at a time, and the result is copied out. Sums are float32 with a rounding per multiply
 * and per add (the JS passes round once per multiply-add), so the two paths agree to about 1e-7 on [0, 1]
 * data; nearest and identity axes (weight 1) are bit-identical.
 *
 * {@link simdResizeLookup} is the same passes over planes that stored words and lookup tables give (the fused
 * CPU chain, `LookupInput` in the plugin API), without making them: `CHUNK` rows of words at a time are
 * copied in, and `hpassLookup` looks each strip up straight into its transposed form (the float rows are
 * never written); when only the height changes, `lookup16` / `lookup8` make the plane's rows. Entries are
 * copied as 32-bit integers, so the floats, and the result, are bit for bit those of the looked-up image.
 * The lookup tables are written into the module's memory once (above the buffers of the call) and kept
 * while the same tables come back at the same place; a plain resize whose buffers reach them forgets them.
 *
 * One module instance (and one `WebAssembly.Memory`) per JS realm (each worker thread has its own), grown as
 * needed and reused across calls; the tables are rewritten only when they change. The output array comes from
 * the plugin API's `tensorBuffer` (recycled by the runtime), as the JS path's does. Where WebAssembly SIMD is
 * not available (the module does not validate), or a plane would need more than 2 GiB, {@link simdResize}
 * returns undefined and the caller runs the JS passes.
 *
 * @module
 */
import { tensorBuffer } from "../../plugin.ts";
import type { AxisTable } from "./cpu.ts";
import { RESIZE_SIMD_WASM_BASE64 } from "./resize_simd.wasm.ts";

/** The exports of resize_simd.wat (byte addresses into `memory`). */
interface Kernels {
  readonly memory: WebAssembly.Memory;
  readonly vpass: (
    src: number,
    dst: number,
    cols: number,
    outRows: number,
    start: number,
    count: number,
    weights: number,
    stride: number,
  ) => void;
  readonly hpass: (
    src: number,
    dst: number,
    rows: number,
    cols: number,
    outCols: number,
    start: number,
    count: number,
    weights: number,
    stride: number,
    scratch: number,
    strip: number,
  ) => void;
  readonly hpassLookup: (
    src: number,
    dst: number,
    rows: number,
    cols: number,
    outCols: number,
    start: number,
    count: number,
    weights: number,
    stride: number,
    scratch: number,
    strip: number,
    table: number,
    shift: number,
    mask: number,
    offset: number,
    width: number,
  ) => void;
  readonly lookup16: LookupKernel;
  readonly lookup8: LookupKernel;
}

/** `lookup16` / `lookup8`: `n` words at `src` -> `n` floats at `dst`, `table[((w >> shift) & mask) ^ offset]`. */
type LookupKernel = (
  src: number,
  dst: number,
  n: number,
  table: number,
  shift: number,
  mask: number,
  offset: number,
) => void;

/**
 * Planes of stored words and the lookup tables that turn them into the input of the resize (the fused CPU
 * chain, see `LookupInput` in the plugin API): plane `p` (frame `p / channels`, channel `c = p % channels`)
 * is the words at word index `first(p)` onwards, looked up through `tables[c]`.
 */
export interface WordPlanes {
  /** The words, little endian, `wordBytes` each (a view; any byte offset). */
  readonly bytes: Uint8Array;
  readonly wordBytes: 1 | 2;
  readonly frames: number;
  /** Output channels (one table each). */
  readonly channels: number;
  /** Word index of the first word of output plane `p`. */
  readonly first: (p: number) => number;
  readonly tables: ReadonlyArray<Float32Array>;
  readonly shift: number;
  readonly mask: number;
  readonly offset: number;
}

/** Input rows per strip of the width pass (the module has a kernel specialised to 16). */
const STRIP = 16;
/**
 * Input rows copied in per width-pass call: the copy lands in a buffer that stays in cache instead of a
 * whole plane (measured 10-20 % faster per 512² slice than copying the plane at once).
 */
const CHUNK = 64;
/** Largest memory the module may use; bigger planes take the JS passes. */
const MAX_BYTES = 2 ** 31;
const PAGE = 65536;

/** Where one axis table lies in the module's memory. */
interface TableAt {
  readonly start: number;
  readonly count: number;
  readonly weights: number;
  readonly stride: number;
}

/** Byte addresses of one call's buffers. */
interface Layout {
  readonly h: TableAt;
  readonly v: TableAt;
  /** Copied-in input: `CHUNK` rows for the width pass, the whole plane when only the height pass runs. */
  readonly input: number;
  /** The width pass's result [rows, outCols] (the output when the height is kept), or the input. */
  readonly middle: number;
  /** The output plane [outRows, outCols]. */
  readonly output: number;
  /** The width pass's strips: (cols + outCols) * STRIP floats. */
  readonly scratch: number;
  readonly end: number;
}

/** How the passes get their input, plane `p`: */
interface Source {
  /** The whole plane, as floats at byte address `into` (when only the height pass runs). */
  readonly plane: (p: number, into: number) => void;
  /** The width pass of `n` rows from row `row` into byte address `into` ([n, outCols] floats). */
  readonly widthRows: (p: number, row: number, n: number, into: number) => void;
}

const NO_TABLE: TableAt = { start: 0, count: 0, weights: 0, stride: 0 };
const align = (n: number) => Math.ceil(n / 64) * 64;

/** Lays out the tables (those of the passes that run) and the buffers of one plane from address 0. */
function layout(rows: number, cols: number, h: AxisTable, v: AxisTable): Layout {
  let at = 0;
  const take = (bytes: number) => {
    const here = at;
    at += align(bytes);
    return here;
  };
  const table = (t: AxisTable): TableAt => {
    const n = t.start.length;
    return { start: take(n * 4), count: take(n * 4), weights: take(n * t.stride * 4), stride: t.stride };
  };
  const outRows = v.start.length;
  const outCols = h.start.length;
  const hAt = h.identity ? NO_TABLE : table(h);
  const vAt = v.identity ? NO_TABLE : table(v);
  const input = take((h.identity ? rows : Math.min(rows, CHUNK)) * cols * 4);
  const output = take(outRows * outCols * 4);
  const middle = h.identity ? input : v.identity ? output : take(rows * outCols * 4);
  const scratch = h.identity ? 0 : take((cols + outCols) * STRIP * 4);
  return { h: hAt, v: vAt, input, middle, output, scratch, end: at };
}

/** The module's bytes, decoded from the generated base64 (atob exists in Deno, Bun and browsers). */
function wasmBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(RESIZE_SIMD_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** One instance of the kernels with its memory, and what is loaded in it. */
class SimdResizer {
  readonly #k: Kernels;
  #f32: Float32Array;
  #i32: Int32Array;
  #u8: Uint8Array;
  #tables: [AxisTable | undefined, AxisTable | undefined] = [undefined, undefined];
  /** Lookup tables in memory, by channel, and where each was written. */
  #luts: Array<{ readonly table: Float32Array; readonly at: number }> = [];

  constructor(module: WebAssembly.Module) {
    this.#k = new WebAssembly.Instance(module, {}).exports as unknown as Kernels;
    this.#f32 = new Float32Array(this.#k.memory.buffer);
    this.#i32 = new Int32Array(this.#k.memory.buffer);
    this.#u8 = new Uint8Array(this.#k.memory.buffer);
  }

  /** Grows the memory to `bytes` (false when it cannot), refreshing the views. */
  #reserve(bytes: number): boolean {
    const memory = this.#k.memory;
    if (bytes > MAX_BYTES) return false;
    if (memory.buffer.byteLength < bytes) {
      try {
        memory.grow(Math.ceil((bytes - memory.buffer.byteLength) / PAGE));
      } catch {
        return false;
      }
    }
    if (this.#f32.buffer !== memory.buffer) {
      this.#f32 = new Float32Array(memory.buffer);
      this.#i32 = new Int32Array(memory.buffer);
      this.#u8 = new Uint8Array(memory.buffer);
    }
    return true;
  }

  /** Writes the tables of the passes that run, unless the same tables are already there. */
  #loadTables(at: Layout, h: AxisTable, v: AxisTable): void {
    if (this.#tables[0] === h && this.#tables[1] === v) return;
    for (const [t, where] of [[h, at.h], [v, at.v]] as const) {
      if (t.identity) continue;
      this.#i32.set(t.start, where.start / 4);
      this.#i32.set(t.count, where.count / 4);
      this.#f32.set(t.weights, where.weights / 4);
    }
    this.#tables = [h, v];
  }

  /** Writes the lookup tables from byte `at` on (one after another), unless they are already there. */
  #loadLuts(tables: ReadonlyArray<Float32Array>, at: number): number[] {
    return tables.map((table, c) => {
      const held = this.#luts[c];
      if (held?.table !== table || held.at !== at) {
        this.#f32.set(table, at / 4); // same element type: a byte copy, the floats' bits unchanged
        this.#luts[c] = { table, at };
      }
      const here = at;
      at += align(table.length * 4);
      return here;
    });
  }

  /** Forgets the lookup tables when a call's buffers (bytes below `end`) may overwrite one. */
  #clobber(end: number): void {
    if (this.#luts.some((l) => l.at < end)) this.#luts = [];
  }

  /** Both passes over every plane, their input from `source`, into a new tensor. */
  #planes(source: Source, planes: number, rows: number, h: AxisTable, v: AxisTable, at: Layout) {
    this.#loadTables(at, h, v);
    const outRows = v.start.length;
    const outCols = h.start.length;
    const outPlane = outRows * outCols;
    const out = tensorBuffer(planes * outPlane);
    for (let p = 0; p < planes; p++) {
      if (h.identity) source.plane(p, at.input);
      else {
        // The width pass, `CHUNK` input rows at a time (they stay in cache).
        for (let r = 0; r < rows; r += CHUNK) {
          source.widthRows(p, r, Math.min(CHUNK, rows - r), at.middle + r * outCols * 4);
        }
      }
      if (!v.identity) {
        const t = at.v;
        this.#k.vpass(at.middle, at.output, outCols, outRows, t.start, t.count, t.weights, t.stride);
      }
      out.set(this.#f32.subarray(at.output / 4, at.output / 4 + outPlane), p * outPlane);
    }
    return out;
  }

  /** {@link simdResize} for this instance; undefined when the memory cannot hold one plane. */
  resize(src: Float32Array, planes: number, rows: number, cols: number, h: AxisTable, v: AxisTable) {
    const at = layout(rows, cols, h, v);
    if (!this.#reserve(at.end)) return undefined;
    this.#clobber(at.end);
    const inPlane = rows * cols;
    const outCols = h.start.length;
    const { start, count, weights, stride } = at.h;
    const copy = (from: number, n: number, into: number) =>
      this.#f32.set(src.subarray(from, from + n), into / 4);
    return this.#planes(
      {
        plane: (p, into) => copy(p * inPlane, inPlane, into),
        widthRows: (p, row, n, into) => {
          copy(p * inPlane + row * cols, n * cols, at.input);
          this.#k.hpass(at.input, into, n, cols, outCols, start, count, weights, stride, at.scratch, STRIP);
        },
      },
      planes,
      rows,
      h,
      v,
      at,
    );
  }

  /** {@link simdResizeLookup} for this instance; undefined when the memory cannot hold one plane. */
  resizeLookup(w: WordPlanes, rows: number, cols: number, h: AxisTable, v: AxisTable) {
    const at = layout(rows, cols, h, v);
    const wordsAt = at.end;
    const wordsBytes = (h.identity ? rows : Math.min(rows, CHUNK)) * cols * w.wordBytes;
    const lutsAt = wordsAt + align(wordsBytes);
    const end = w.tables.reduce((e, t) => e + align(t.length * 4), lutsAt);
    if (!this.#reserve(end)) return undefined;
    this.#clobber(lutsAt);
    const luts = this.#loadLuts(w.tables, lutsAt);
    const { bytes, wordBytes, channels, shift, mask, offset } = w;
    const outCols = h.start.length;
    const { start, count, weights, stride } = at.h;
    /** Copies `n` rows of plane p's words from row `row` to `wordsAt`. */
    const copy = (p: number, row: number, n: number) => {
      const from = (w.first(p) + row * cols) * wordBytes;
      this.#u8.set(bytes.subarray(from, from + n * cols * wordBytes), wordsAt);
    };
    const lookup = wordBytes === 2 ? this.#k.lookup16 : this.#k.lookup8;
    return this.#planes(
      {
        plane: (p, into) => {
          copy(p, 0, rows);
          lookup(wordsAt, into, rows * cols, luts[p % channels], shift, mask, offset);
        },
        widthRows: (p, row, n, into) => {
          copy(p, row, n);
          const lut = luts[p % channels];
          this.#k.hpassLookup(
            wordsAt,
            into,
            n,
            cols,
            outCols,
            start,
            count,
            weights,
            stride,
            at.scratch,
            STRIP,
            lut,
            shift,
            mask,
            offset,
            wordBytes,
          );
        },
      },
      w.frames * channels,
      rows,
      h,
      v,
      at,
    );
  }
}

/** The compiled module; null where WebAssembly SIMD is not available; undefined until first asked. */
let compiled: WebAssembly.Module | null | undefined;
let instance: SimdResizer | undefined;

/** True when this runtime validates the SIMD module (the SIMD path runs). */
export function simdAvailable(): boolean {
  if (compiled === undefined) {
    const bytes = wasmBytes();
    compiled = typeof WebAssembly === "object" && WebAssembly.validate(bytes)
      ? new WebAssembly.Module(bytes)
      : null;
  }
  return compiled !== null;
}

/**
 * Resizes `planes` planes of `rows` x `cols` (C order) with the width table `h` and the height table `v`
 * (not both identity) in WebAssembly SIMD. Returns undefined when SIMD is unavailable or a plane is too big
 * for the module's memory; the caller then runs the JS passes. Arguments are checked by the caller.
 */
export function simdResize(
  src: Float32Array,
  planes: number,
  rows: number,
  cols: number,
  h: AxisTable,
  v: AxisTable,
): Float32Array | undefined {
  if (!simdAvailable()) return undefined;
  instance ??= new SimdResizer(compiled!);
  return instance.resize(src, planes, rows, cols, h, v);
}

/**
 * {@link simdResize} of the planes that `words` looked up through its tables give (see {@link WordPlanes}),
 * without making them: `CHUNK` rows of words at a time are copied into the module's memory and looked up
 * into the rows the width pass reads. The result is the same, bit for bit, as looking the planes up first.
 * Undefined when SIMD is unavailable or the memory cannot hold a plane; the caller checks the arguments
 * (sizes, enough bytes, table lengths).
 */
export function simdResizeLookup(
  words: WordPlanes,
  rows: number,
  cols: number,
  h: AxisTable,
  v: AxisTable,
): Float32Array | undefined {
  if (!simdAvailable()) return undefined;
  instance ??= new SimdResizer(compiled!);
  return instance.resizeLookup(words, rows, cols, h, v);
}
