/**
 * Minimal NumPy `.npy` (format 1.0 / 2.0 / 3.0) reader and float32 writer.
 *
 * Writing produces the same bytes as `numpy.save` (NumPy >= 1.23) for a little-endian float32 C-order array.
 * Reading supports C-order arrays of the plain numeric dtypes listed in {@link NpyData}.
 *
 * @module
 */
import { HOST_LITTLE_ENDIAN } from "../dicom/bytes.ts";

/** Typed arrays {@link decodeNpy} can return. */
export type NpyData =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array;

/** A decoded `.npy` array: its shape and its elements in C (row-major) order. */
export interface NpyArray {
  readonly shape: number[];
  readonly data: NpyData;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
const ARRAY_ALIGN = 64;
/** numpy >= 1.23 leaves room for the first axis to grow to this many digits. */
const GROWTH_AXIS_MAX_DIGITS = 21;

/** Format a shape the way Python's `repr(tuple)` does: `()`, `(5,)`, `(1, 3, 224, 224)`. */
function shapeRepr(shape: readonly number[]): string {
  if (shape.length === 1) return `(${shape[0]},)`;
  return `(${shape.join(", ")})`;
}

/**
 * The header of a `.npy` file (format 1.0, `'<f4'`, C order) for an array of `shape`, byte-identical to what
 * `numpy.save` writes: the Python dict literal, numpy's spare space for growing the first axis, padded with
 * spaces and ended by `'\n'` so that the data starts at a multiple of 64 bytes.
 *
 * @throws Error when a dimension is not a non-negative integer.
 */
export function npyHeader(shape: readonly number[]): Uint8Array {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new Error(`encodeNpy: invalid dimension ${d} in shape`);
  }
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) header += " ".repeat(Math.max(0, GROWTH_AXIS_MAX_DIGITS - String(shape[0]).length));
  // magic (6) + version (2) + header length (2) + header + '\n'
  const unpadded = MAGIC.length + 2 + 2 + header.length + 1;
  const padlen = ARRAY_ALIGN - (unpadded % ARRAY_ALIGN);
  const headerLen = header.length + padlen + 1;
  if (headerLen > 0xffff) throw new Error("encodeNpy: header too long for format 1.0");
  const out = new Uint8Array(MAGIC.length + 4 + headerLen);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  out[8] = headerLen & 0xff;
  out[9] = headerLen >> 8;
  const text = header + " ".repeat(padlen) + "\n";
  for (let i = 0; i < text.length; i++) out[10 + i] = text.charCodeAt(i);
  return out;
}

/** float32 values as little-endian bytes: a view of the same memory on little-endian hosts (no copy). */
export function float32Bytes(data: Float32Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i], true);
  return out;
}

/** A `.npy` file as its two parts, header and data, for writers that take chunks (no concatenation). */
export function npyChunks(data: Float32Array, shape: readonly number[]): [Uint8Array, Uint8Array] {
  const count = shape.reduce((a, b) => a * b, 1);
  const header = npyHeader(shape);
  if (count !== data.length) {
    throw new Error(`encodeNpy: shape ${shapeRepr(shape)} needs ${count} elements, got ${data.length}`);
  }
  return [header, float32Bytes(data)];
}

/**
 * Encode a float32 array as a `.npy` file (format 1.0, `'<f4'`, C order), byte-identical to `numpy.save`.
 *
 * @param data elements in C order; its length must equal the product of `shape`.
 * @param shape array shape (`[]` for a scalar).
 * @returns the complete file contents.
 * @throws Error when `data.length` does not match `shape`, or a dimension is not a non-negative integer.
 */
export function encodeNpy(data: Float32Array, shape: readonly number[]): Uint8Array {
  const [header, body] = npyChunks(data, shape);
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

interface DtypeInfo {
  readonly size: number;
  readonly make: (n: number) => NpyData;
  readonly read: (view: DataView, byteOffset: number) => number;
}

const DTYPES: Record<string, DtypeInfo> = {
  f4: { size: 4, make: (n) => new Float32Array(n), read: (v, o) => v.getFloat32(o, true) },
  f8: { size: 8, make: (n) => new Float64Array(n), read: (v, o) => v.getFloat64(o, true) },
  i1: { size: 1, make: (n) => new Int8Array(n), read: (v, o) => v.getInt8(o) },
  u1: { size: 1, make: (n) => new Uint8Array(n), read: (v, o) => v.getUint8(o) },
  i2: { size: 2, make: (n) => new Int16Array(n), read: (v, o) => v.getInt16(o, true) },
  u2: { size: 2, make: (n) => new Uint16Array(n), read: (v, o) => v.getUint16(o, true) },
  i4: { size: 4, make: (n) => new Int32Array(n), read: (v, o) => v.getInt32(o, true) },
  u4: { size: 4, make: (n) => new Uint32Array(n), read: (v, o) => v.getUint32(o, true) },
};

/**
 * Decode a `.npy` file.
 *
 * Supports format versions 1.0, 2.0 and 3.0 and the little-endian (or byte-order-free) dtypes
 * `<f4 <f8 |i1 |u1 <i2 <u2 <i4 <u4` (`<` and `=` accepted for multi-byte types; `|`, `<` and `=` for bytes).
 *
 * @param bytes the complete file contents.
 * @returns the shape and a freshly allocated typed array with the elements in C order.
 * @throws Error for a bad magic string, a malformed header, Fortran order, or an unsupported dtype
 *   (big-endian, 64-bit integers, bool, complex, structured, object).
 */
export function decodeNpy(bytes: Uint8Array): NpyArray {
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) {
    throw new Error("decodeNpy: not a .npy file (bad magic string)");
  }
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new Error("decodeNpy: truncated header");
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw new Error(`decodeNpy: unsupported format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw new Error("decodeNpy: truncated header");
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(headerStart, dataStart),
  );

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) {
    throw new Error(`decodeNpy: malformed header ${JSON.stringify(header.trim())}`);
  }
  if (fortran === "True") throw new Error("decodeNpy: fortran_order arrays are not supported (C order only)");

  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s.length > 0).map((s) => {
    const n = Number(s.replace(/L$/, ""));
    if (!Number.isInteger(n) || n < 0) throw new Error(`decodeNpy: invalid shape (${shapeText})`);
    return n;
  });

  const m = /^([<>|=])([a-zA-Z]\d+)$/.exec(descr);
  const info = m ? DTYPES[m[2]] : undefined;
  if (!m || !info) throw new Error(`decodeNpy: unsupported dtype '${descr}'`);
  if (m[1] === ">" && info.size > 1) {
    throw new Error(`decodeNpy: big-endian dtype '${descr}' is not supported`);
  }
  if (m[1] === "|" && info.size > 1) throw new Error(`decodeNpy: unsupported dtype '${descr}'`);

  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * info.size;
  if (bytes.length - dataStart < need) {
    throw new Error(`decodeNpy: data truncated: need ${need} bytes, have ${bytes.length - dataStart}`);
  }
  const data = info.make(count);
  const absStart = bytes.byteOffset + dataStart;
  if (info.size === 1 || (absStart % info.size === 0 && HOST_LITTLE_ENDIAN)) {
    // Fast path: copy through a view of the same element type over the file bytes.
    const Ctor = data.constructor as new (buf: ArrayBufferLike, off: number, len: number) => NpyData;
    (data as Float32Array).set(new Ctor(bytes.buffer, absStart, count) as Float32Array);
  } else {
    for (let i = 0; i < count; i++) data[i] = info.read(view, dataStart + i * info.size);
  }
  return { shape, data };
}
