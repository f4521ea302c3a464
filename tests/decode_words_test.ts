/**
 * Decoded images handed on as 16-bit stored words (plugins/decode's `storedWords`), so that compressed
 * inputs take the fused table lookup: the words read back as the values, or the floats stay floats.
 * (tests/runtime_test.ts checks the fused path against the stages one by one on every fixture.)
 */
import assert from "node:assert/strict";
import { storedValues } from "../core/cpu/unpack.ts";
import { storedWords } from "../plugins/decode/mod.ts";

const readBack = (values: number[], bitsStored: number, signed: boolean) => {
  const data = Float32Array.from(values);
  const words = storedWords(data, bitsStored, signed);
  return words && { words, back: Array.from(storedValues(words, [1, 1, values.length])) };
};

Deno.test("storedWords: integer values as words that unpack to the same values, with the file's BitsStored", () => {
  const unsigned = [0, 1, 2047, 4095, 17];
  const u = readBack(unsigned, 12, false)!;
  assert.deepEqual(u.back, unsigned);
  assert.deepEqual([u.words.bitsStored, u.words.signed, u.words.bitsAllocated, u.words.planar], [
    12,
    false,
    16,
    1,
  ]);
  const signed = [-2048, -1, 0, 2047, -1024];
  const s = readBack(signed, 12, true)!;
  assert.deepEqual(s.back, signed);
  assert.deepEqual([s.words.bitsStored, s.words.signed], [12, true]);
  // values the file's BitsStored cannot hold (RGB from a palette, 16-bit): the bits they need
  const wide = readBack([0, 65535, 300], 8, false)!;
  assert.deepEqual(wide.back, [0, 65535, 300]);
  assert.equal(wide.words.bitsStored, 16);
  const negative = readBack([-5, 3], 16, false)!;
  assert.deepEqual(negative.back, [-5, 3]);
  assert.equal(negative.words.signed, true);
});

Deno.test("storedWords: floats, and integers beyond 16 bits, stay floats (untouched)", () => {
  for (const values of [[0.5, 1], [0, 70000], [-40000, 0], [-1, 40000]]) {
    const data = Float32Array.from(values);
    assert.equal(storedWords(data, 16, false), undefined, String(values));
    assert.deepEqual(Array.from(data), values.map(Math.fround), "the floats are not written over");
  }
});

Deno.test("decodeRawPixelsAsync: a compressed fixture's words unpack to decodeDicomAsync's values, grayscale and colour", async () => {
  const { readdirSync, readFileSync } = await import("node:fs");
  const { decodeDicomAsync, decodeRawPixelsAsync, DicomDecodeError } = await import("../dicom/mod.ts");
  const dirs = ["./fixtures/dicom/", "./fixtures/lossless/"].map((d) => new URL(d, import.meta.url));
  let compared = 0;
  const colour: string[] = [];
  for (const dir of dirs) {
    for (const name of readdirSync(dir).filter((f) => f.endsWith(".dcm"))) {
      const bytes = new Uint8Array(readFileSync(new URL(name, dir)));
      const outcome = async <T>(f: () => Promise<T>) => {
        try {
          return await f();
        } catch (e) {
          assert.ok(e instanceof DicomDecodeError, `${name}: ${e}`);
          return e.code;
        }
      };
      const raw = await outcome(() => decodeRawPixelsAsync(bytes));
      const decoded = await outcome(() => decodeDicomAsync(bytes));
      if (raw === undefined) continue; // uncompressed, a palette, YBR_FULL left to convert, wider than 16 bits
      if (typeof raw === "string" || typeof decoded === "string") {
        assert.equal(raw, decoded, `${name}: the same error`);
        continue;
      }
      const [f, c, rows, cols] = decoded.shape;
      assert.deepEqual([...raw.shape], [f, c, rows, cols], name);
      assert.deepEqual(
        Array.from(storedValues(raw.raw, [f, c, rows * cols])),
        Array.from(decoded.data),
        name,
      );
      assert.deepEqual(raw.meta, decoded.meta, `${name}: the same metadata`);
      compared++;
      if (c === 3) colour.push(name);
    }
  }
  assert.ok(compared >= 50, `${compared} compressed fixtures compared`);
  // RGB, YBR_FULL(_422) converted by libjpeg-turbo or OpenJPEG, YBR_RCT / YBR_ICT, planar and interleaved
  assert.ok(colour.length >= 18, `${colour.length} colour fixtures compared: ${colour.join(", ")}`);
});

Deno.test("decodeRawPixelsAsync: a multi-frame file whose frames decode to bytes, then 16 bits, keeps every value", async () => {
  const { decodeDicomAsync, decodeRawPixelsAsync } = await import("../dicom/mod.ts");
  const { encodeLossless } = await import("./support/jpeg_lossless_encode.ts");
  const { element, encapsulatedPixelData, imagePixelModule, part10, text } = await import(
    "./support/dicom_writer.ts"
  );
  const [rows, cols] = [6, 9];
  const plane = (max: number, seed: number) =>
    Uint16Array.from({ length: rows * cols }, (_, i) => (i * 37 + seed * 11) % (max + 1));
  // JPEG lossless frames of 8 and then 12 bits in one 16-bit, BitsStored 12 file: the built-in decoder gives
  // bytes for the first (precision <= 8) and 16-bit samples for the others
  const frames = [
    encodeLossless({ rows, cols, precision: 8, planes: [plane(255, 1)], predictor: 1 }),
    encodeLossless({ rows, cols, precision: 12, planes: [plane(4095, 2)], predictor: 1 }),
    encodeLossless({ rows, cols, precision: 12, planes: [plane(4095, 3)], predictor: 4 }),
  ];
  const file = part10("1.2.840.10008.1.2.4.70", [
    element(0x00080060, "CS", text("OT")),
    ...imagePixelModule({ rows, cols, bitsAllocated: 16, bitsStored: 12, frames: frames.length }),
    encapsulatedPixelData(frames),
  ]);
  const raw = await decodeRawPixelsAsync(file);
  const decoded = await decodeDicomAsync(file);
  assert.ok(raw, "compressed grayscale goes on as words");
  assert.equal(raw.raw.bitsAllocated, 16, "the words became 16 bits when a wider frame came");
  const values = Array.from(storedValues(raw.raw, [frames.length, 1, rows * cols]));
  assert.deepEqual(values, Array.from(decoded.data));
  assert.deepEqual(
    values.slice(0, rows * cols),
    Array.from(plane(255, 1)),
    "the first frame's bytes were kept",
  );
});
