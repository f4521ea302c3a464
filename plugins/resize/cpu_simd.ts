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
  #tables: [AxisTable | undefined, AxisTable | undefined] = [undefined, undefined];

  constructor(module: WebAssembly.Module) {
    this.#k = new WebAssembly.Instance(module, {}).exports as unknown as Kernels;
    this.#f32 = new Float32Array(this.#k.memory.buffer);
    this.#i32 = new Int32Array(this.#k.memory.buffer);
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

  /** The width pass of one plane (at `src[base]`) into `at.middle`, `CHUNK` rows copied in at a time. */
  #widthPass(src: Float32Array, base: number, rows: number, cols: number, h: AxisTable, at: Layout) {
    const outCols = h.start.length;
    const { start, count, weights, stride } = at.h;
    for (let r = 0; r < rows; r += CHUNK) {
      const n = Math.min(CHUNK, rows - r);
      this.#f32.set(src.subarray(base + r * cols, base + (r + n) * cols), at.input / 4);
      const into = at.middle + r * outCols * 4;
      this.#k.hpass(at.input, into, n, cols, outCols, start, count, weights, stride, at.scratch, STRIP);
    }
  }

  /** {@link simdResize} for this instance; undefined when the memory cannot hold one plane. */
  resize(src: Float32Array, planes: number, rows: number, cols: number, h: AxisTable, v: AxisTable) {
    const at = layout(rows, cols, h, v);
    if (!this.#reserve(at.end)) return undefined;
    this.#loadTables(at, h, v);
    const outRows = v.start.length;
    const outCols = h.start.length;
    const inPlane = rows * cols;
    const outPlane = outRows * outCols;
    const out = tensorBuffer(planes * outPlane);
    for (let p = 0; p < planes; p++) {
      if (h.identity) this.#f32.set(src.subarray(p * inPlane, (p + 1) * inPlane), at.input / 4);
      else this.#widthPass(src, p * inPlane, rows, cols, h, at);
      if (!v.identity) {
        const t = at.v;
        this.#k.vpass(at.middle, at.output, outCols, outRows, t.start, t.count, t.weights, t.stride);
      }
      out.set(this.#f32.subarray(at.output / 4, at.output / 4 + outPlane), p * outPlane);
    }
    return out;
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
