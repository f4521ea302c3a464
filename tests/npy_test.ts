/**
 * core/npy.ts: byte parity with numpy.save and round trips.
 */
import assert from "node:assert/strict";
import { decodeNpy, encodeNpy } from "../core/npy.ts";

const SMALL = new URL("./fixtures/npy/small.npy", import.meta.url);

Deno.test("encodeNpy writes the same bytes as numpy.save", () => {
  const numpyBytes = Deno.readFileSync(SMALL);
  const data = Float32Array.from({ length: 6 }, (_, i) => Math.fround(i / 7));
  const ours = encodeNpy(data, [2, 3]);
  assert.equal(ours.length, numpyBytes.length);
  assert.deepEqual(ours, numpyBytes);
});

Deno.test("decodeNpy reads numpy's file", () => {
  const { shape, data } = decodeNpy(Deno.readFileSync(SMALL));
  assert.deepEqual(shape, [2, 3]);
  assert.ok(data instanceof Float32Array);
  assert.deepEqual(Array.from(data), Array.from({ length: 6 }, (_, i) => Math.fround(i / 7)));
});

Deno.test("encodeNpy header: shape repr, 64-byte alignment, newline", () => {
  const cases: [number[], string][] = [
    [[5], "(5,)"],
    [[1, 3, 224, 224], "(1, 3, 224, 224)"],
    [[], "()"],
    [[0, 4], "(0, 4)"],
  ];
  for (const [shape, repr] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const bytes = encodeNpy(new Float32Array(n), shape);
    const headerLen = bytes[8] | (bytes[9] << 8);
    assert.equal((10 + headerLen) % 64, 0, `${repr}: data offset not 64-aligned`);
    assert.equal(bytes.length, 10 + headerLen + 4 * n);
    const header = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
    assert.ok(header.startsWith(`{'descr': '<f4', 'fortran_order': False, 'shape': ${repr}, }`), header);
    assert.ok(header.endsWith("\n"));
  }
});

Deno.test("decodeNpy(encodeNpy(x)) round-trips", () => {
  for (const shape of [[5], [2, 3], [1, 3, 7, 9], []]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const x = Float32Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i) * 1e3 - 0.5));
    const back = decodeNpy(encodeNpy(x, shape));
    assert.deepEqual(back.shape, shape);
    assert.ok(back.data instanceof Float32Array);
    assert.deepEqual(Array.from(back.data), Array.from(x));
  }
});

Deno.test("decodeNpy works on an unaligned subarray", () => {
  const enc = encodeNpy(Float32Array.of(1.5, -2, 3), [3]);
  const buf = new Uint8Array(enc.length + 1);
  buf.set(enc, 1);
  assert.deepEqual(Array.from(decodeNpy(buf.subarray(1)).data), [1.5, -2, 3]);
});

/** Build a .npy file by hand for dtypes encodeNpy does not write. */
function rawNpy(descr: string, shape: string, payload: Uint8Array, fortran = false): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': ${fortran ? "True" : "False"}, 'shape': ${shape}, }`;
  header += " ".repeat(64 - ((10 + header.length + 1) % 64)) + "\n";
  const out = new Uint8Array(10 + header.length + payload.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0, header.length & 0xff, header.length >> 8]);
  out.set(new TextEncoder().encode(header), 10);
  out.set(payload, 10 + header.length);
  return out;
}

Deno.test("decodeNpy: integer and float64 dtypes", () => {
  const i16 = new Uint8Array(Int16Array.of(-3, 700, 32767).buffer);
  const a = decodeNpy(rawNpy("<i2", "(3,)", i16));
  assert.ok(a.data instanceof Int16Array);
  assert.deepEqual(Array.from(a.data), [-3, 700, 32767]);

  const u16 = decodeNpy(rawNpy("<u2", "(1, 2)", new Uint8Array(Uint16Array.of(65535, 1).buffer)));
  assert.ok(u16.data instanceof Uint16Array);
  assert.deepEqual(u16.shape, [1, 2]);
  assert.deepEqual(Array.from(u16.data), [65535, 1]);

  const i32 = decodeNpy(rawNpy("<i4", "(2,)", new Uint8Array(Int32Array.of(-100000, 7).buffer)));
  assert.ok(i32.data instanceof Int32Array);
  assert.deepEqual(Array.from(i32.data), [-100000, 7]);

  const f64 = decodeNpy(rawNpy("<f8", "(2,)", new Uint8Array(Float64Array.of(0.1, -1e300).buffer)));
  assert.ok(f64.data instanceof Float64Array);
  assert.deepEqual(Array.from(f64.data), [0.1, -1e300]);

  const u8 = decodeNpy(rawNpy("|u1", "(3,)", Uint8Array.of(0, 128, 255)));
  assert.ok(u8.data instanceof Uint8Array);
  assert.deepEqual(Array.from(u8.data), [0, 128, 255]);

  const i8 = decodeNpy(rawNpy("|i1", "(2,)", Uint8Array.of(0xff, 0x7f)));
  assert.ok(i8.data instanceof Int8Array);
  assert.deepEqual(Array.from(i8.data), [-1, 127]);
});

Deno.test("decodeNpy: clear errors for unsupported input", () => {
  assert.throws(() => decodeNpy(new Uint8Array(16)), /bad magic/);
  assert.throws(() => decodeNpy(rawNpy("<f4", "(1,)", new Uint8Array(4), true)), /fortran_order/);
  assert.throws(() => decodeNpy(rawNpy(">f4", "(1,)", new Uint8Array(4))), /big-endian/);
  assert.throws(() => decodeNpy(rawNpy("<i8", "(1,)", new Uint8Array(8))), /unsupported dtype '<i8'/);
  assert.throws(() => decodeNpy(rawNpy("<f4", "(4,)", new Uint8Array(8))), /truncated/);
});
