/**
 * dicom/ against the fixtures made by tests/fixtures/dicom/make_dicom_fixtures.py
 * (expected stored values in the `.npy` beside each good `.dcm`). The compressed syntaxes, colour models
 * and files in the wild are in decode_codecs_test.ts; this file covers the container, the native pixel
 * module and the error paths. The synchronous decodeDicom() is used throughout, after loadCodecs().
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeNpy } from "../core/npy.ts";
import { element, imagePixelModule, part10, text } from "./support/dicom_writer.ts";
import {
  decodeDicom,
  type DecodeErrorCode,
  DicomDecodeError,
  loadCodecs,
  readHeader,
  TRANSFER_SYNTAXES,
} from "../dicom/mod.ts";

await loadCodecs();

const DIR = new URL("./fixtures/dicom/", import.meta.url);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, DIR)));

/** Every good fixture: [file, expected shape]. */
const GOOD: ReadonlyArray<readonly [string, readonly number[]]> = [
  ["signed12_garbage.dcm", [1, 1, 24, 32]],
  ["unsigned16_rescale.dcm", [1, 1, 24, 32]],
  ["mono1_8bit.dcm", [1, 1, 25, 33]],
  ["multiframe.dcm", [4, 1, 24, 32]],
  ["implicit_le.dcm", [1, 1, 24, 32]],
  ["raw_implicit_no_meta.dcm", [1, 1, 24, 32]],
  ["meta_no_transfer_syntax.dcm", [1, 1, 24, 32]],
  ["big_endian.dcm", [1, 1, 24, 32]],
  ["big_endian_32bit.dcm", [1, 1, 24, 32]],
  ["big_endian_8bit_ow.dcm", [1, 1, 25, 33]],
  ["deflated.dcm", [1, 1, 24, 32]],
  ["rgb_planar0.dcm", [1, 3, 24, 32]],
  ["rgb_planar1.dcm", [2, 3, 24, 32]],
  ["signed24_in32.dcm", [1, 1, 24, 32]],
  ["highbit15.dcm", [1, 1, 24, 32]],
  ["modality_lut.dcm", [1, 1, 24, 32]],
  ["voi_lut.dcm", [1, 1, 24, 32]],
  // unsupported before issue 4, decoded now
  ["jpeg_baseline.dcm", [1, 1, 24, 32]],
  ["rle.dcm", [1, 1, 24, 32]],
  ["ybr_full.dcm", [1, 3, 24, 32]],
  ["bits1.dcm", [1, 1, 24, 32]],
  ["float_pixels.dcm", [1, 1, 24, 32]],
  // issue 15: envelopes pydicom reads, nested private sequences, an icon with encapsulated pixels, warnings
  ["meta_wrong_group_length.dcm", [1, 1, 24, 32]],
  ["meta_no_transfer_syntax_implicit.dcm", [1, 1, 24, 32]],
  ["no_preamble_dicm.dcm", [1, 1, 24, 32]],
  ["nested_private_sequences.dcm", [1, 1, 24, 32]],
  ["icon_encapsulated.dcm", [1, 1, 24, 32]],
  ["warnings_duplicate_and_damaged.dcm", [1, 1, 24, 32]],
];

/** Every bad fixture and the error code it must give. */
const BAD: ReadonlyArray<readonly [string, DecodeErrorCode]> = [
  ["not_dicom.dcm", "NOT_DICOM"],
  ["empty.dcm", "NOT_DICOM"],
  ["truncated.dcm", "TRUNCATED"],
  ["truncated_header.dcm", "TRUNCATED"],
  ["no_pixels.dcm", "MISSING_PIXEL_DATA"],
  ["no_rows.dcm", "INVALID_DICOM"],
];

function expectedArray(name: string): { shape: number[]; data: ArrayLike<number> } {
  const npy = decodeNpy(read(name.replace(/\.dcm$/, ".npy")));
  return { shape: npy.shape, data: npy.data };
}

function assertSameValues(actual: Float32Array, expected: ArrayLike<number>, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: element count`);
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      assert.fail(`${label}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

function decodeError(bytes: Uint8Array): DicomDecodeError {
  try {
    decodeDicom(bytes);
  } catch (e) {
    assert.ok(e instanceof DicomDecodeError, `expected DicomDecodeError, got ${e}`);
    return e;
  }
  assert.fail("decodeDicom did not throw");
}

for (const [name, shape] of GOOD) {
  Deno.test(`decodeDicom ${name}: stored values equal the expected array`, () => {
    const { meta, data } = decodeDicom(read(name));
    const expected = expectedArray(name);
    assert.deepEqual(expected.shape, shape, "fixture shape");
    assert.deepEqual([...decodeDicom(read(name)).shape], shape);
    assert.ok(data instanceof Float32Array);
    assertSameValues(data, expected.data, name);
    assert.equal(meta.dataset.PixelData, undefined, "dataset must not carry pixel data");
  });
}

for (const [name, code] of BAD) {
  Deno.test(`decodeDicom ${name}: fails with ${code}`, () => {
    const e = decodeError(read(name));
    assert.equal(e.code, code, e.message);
    assert.ok(e.message.length > 20, "a helpful message");
    assert.ok(!/\n\s+at /.test(e.message), "no stack trace in the message");
  });
}

Deno.test("signed 12-bit with garbage in bits 12-15 is masked and sign-extended", () => {
  const { meta, data } = decodeDicom(read("signed12_garbage.dcm"));
  assert.equal(meta.bitsAllocated, 16);
  assert.equal(meta.bitsStored, 12);
  assert.equal(meta.highBit, 11);
  assert.equal(meta.pixelRepresentation, 1);
  assert.deepEqual(Array.from(data.subarray(0, 4)), [-2048, 2047, -1, 0]);
  let min = Infinity, max = -Infinity;
  for (const v of data) [min, max] = [Math.min(min, v), Math.max(max, v)];
  assert.ok(min >= -2048 && max <= 2047, `range [${min}, ${max}]`);
});

Deno.test("unsigned16_rescale: rescale, windows with explanations, geometry", () => {
  const { meta } = decodeDicom(read("unsigned16_rescale.dcm"));
  assert.equal(meta.transferSyntaxUid, "1.2.840.10008.1.2.1");
  assert.equal(meta.photometric, "MONOCHROME2");
  assert.equal(meta.modality, "CT");
  assert.equal(meta.sopClassUid, "1.2.840.10008.5.1.4.1.1.2");
  assert.equal(meta.studyInstanceUid, "1.2.826.0.1.3680043.8.498.7777.100");
  assert.equal(meta.rescaleSlope, 0.5);
  assert.equal(meta.rescaleIntercept, -1024);
  assert.equal(meta.rescaleType, "HU");
  assert.deepEqual(meta.windows, [
    { center: 40, width: 400, explanation: "SOFT TISSUE" },
    { center: -600, width: 1500, explanation: "LUNG" },
    { center: 300.5, width: 2000, explanation: "BONE" },
  ]);
  assert.equal(meta.voiLutFunction, "LINEAR_EXACT");
  assert.deepEqual(meta.pixelSpacing, [0.703125, 0.65]);
  assert.equal(meta.sliceThickness, 1.25);
  assert.deepEqual(meta.imagePositionPatient, [-180, -175.5, 12.5]);
  assert.equal(meta.instanceNumber, 7);
  assert.equal(meta.pixelRepresentation, 0);
  assert.equal(meta.modalityLut, undefined);
  assert.equal(meta.dataset.PatientID, "DCMFLOW-unsigned16_rescale");
});

Deno.test("defaults: no rescale attributes -> slope 1, intercept 0, no windows", () => {
  const { meta } = decodeDicom(read("multiframe.dcm"));
  assert.equal(meta.rescaleSlope, 1);
  assert.equal(meta.rescaleIntercept, 0);
  assert.deepEqual(meta.windows, []);
  assert.equal(meta.frames, 4);
});

Deno.test("multiframe: frames are contiguous and in order", () => {
  const { data } = decodeDicom(read("multiframe.dcm"));
  const frame = 24 * 32;
  assert.deepEqual([0, 1, 2, 3].map((f) => data[f * frame]), [0, 1, 2, 3]);
});

Deno.test("mono1_8bit: MONOCHROME1 passes through with its single window", () => {
  const { meta } = decodeDicom(read("mono1_8bit.dcm"));
  assert.equal(meta.photometric, "MONOCHROME1");
  assert.equal(meta.bitsAllocated, 8);
  assert.deepEqual(meta.windows, [{ center: 128, width: 256 }]);
});

Deno.test("implicit VR little endian: syntax and decimal strings", () => {
  const { meta } = decodeDicom(read("implicit_le.dcm"));
  assert.equal(meta.transferSyntaxUid, "1.2.840.10008.1.2");
  assert.equal(meta.rescaleIntercept, -1024);
  assert.deepEqual(meta.windows, [{ center: 40, width: 400 }]);
});

Deno.test("a bare data set without preamble and file meta decodes as implicit VR little endian", () => {
  const { meta } = decodeDicom(read("raw_implicit_no_meta.dcm"));
  assert.equal(meta.transferSyntaxUid, "1.2.840.10008.1.2");
});

Deno.test("big endian: syntax and rescale read right", () => {
  const { meta, data } = decodeDicom(read("big_endian.dcm"));
  assert.equal(meta.transferSyntaxUid, "1.2.840.10008.1.2.2");
  assert.equal(meta.rescaleSlope, 2);
  assert.equal(meta.rescaleIntercept, -10);
  // the same values must not appear when the words are left unswapped
  const unswapped = new Uint16Array(data.length);
  assert.notDeepEqual(Array.from(data.subarray(0, 8)), Array.from(unswapped.subarray(0, 8)));
});

Deno.test("file meta without Transfer Syntax UID: inferred from the data set, with a warning naming it", () => {
  const { meta } = decodeDicom(read("meta_no_transfer_syntax.dcm"));
  assert.equal(meta.transferSyntaxUid, "1.2.840.10008.1.2.1");
  assert.match(
    meta.warnings?.[0] ?? "",
    /no Transfer Syntax UID \(0002,0010\).*read as Explicit VR Little Endian \(1\.2\.840\.10008\.1\.2\.1\)/,
  );
  assert.equal(decodeDicom(read("implicit_le.dcm")).meta.warnings, undefined);
});

Deno.test("deflated explicit VR little endian is supported", () => {
  assert.equal(decodeDicom(read("deflated.dcm")).meta.transferSyntaxUid, "1.2.840.10008.1.2.1.99");
  assert.equal(TRANSFER_SYNTAXES.get("1.2.840.10008.1.2.1.99")?.supported, true);
});

Deno.test("RGB: interleaved and planar files both come out planar", () => {
  const p0 = decodeDicom(read("rgb_planar0.dcm"));
  assert.equal(p0.meta.photometric, "RGB");
  assert.equal(p0.meta.planarConfiguration, 0);
  const plane = 24 * 32;
  // pixel (0,0) red, (0,1) green, (0,2) blue
  assert.deepEqual([p0.data[0], p0.data[plane], p0.data[2 * plane]], [255, 0, 0]);
  assert.deepEqual([p0.data[1], p0.data[plane + 1], p0.data[2 * plane + 1]], [0, 255, 0]);
  assert.deepEqual([p0.data[2], p0.data[plane + 2], p0.data[2 * plane + 2]], [0, 0, 255]);
  const p1 = decodeDicom(read("rgb_planar1.dcm"));
  assert.equal(p1.meta.planarConfiguration, 1);
  assert.equal(p1.meta.frames, 2);
});

Deno.test("modality_lut: LUT descriptor, signed first mapped value, data", () => {
  const { meta } = decodeDicom(read("modality_lut.dcm"));
  const lut = meta.modalityLut;
  assert.ok(lut);
  assert.equal(lut.entries, 256);
  assert.equal(lut.firstMapped, -128);
  assert.equal(lut.bits, 12);
  assert.equal(lut.explanation, "TEST HU LUT");
  assert.equal(lut.data.length, 256);
  assert.deepEqual(lut.data.slice(0, 4), [0, 16, 32, 48]);
  assert.equal(lut.data[255], 255 * 16);
});

Deno.test("voi_lut: two tables, descriptor 0 entries means 65536; presentation LUT shape", () => {
  const { meta } = decodeDicom(read("voi_lut.dcm"));
  const luts = meta.voiLuts;
  assert.ok(luts);
  assert.equal(luts.length, 2);
  assert.equal(luts[0].entries, 4096);
  assert.equal(luts[0].firstMapped, 0);
  assert.equal(luts[0].bits, 12);
  assert.equal(luts[0].explanation, "LINEAR RAMP");
  assert.equal(luts[0].data[4095], 4095);
  assert.equal(luts[1].entries, 65536);
  assert.equal(luts[1].bits, 16);
  assert.equal(luts[1].data.length, 65536);
  assert.equal(luts[1].data[0], 65535);
  assert.equal(luts[1].data[65535], 0);
  assert.equal(meta.presentationLutShape, "IDENTITY");
});

Deno.test("error messages say what is wrong and what to do", () => {
  const unsupported = decodeError(patchSyntax(read("jpeg_baseline.dcm"), "1.2.840.10008.1.2.4.53"));
  assert.equal(unsupported.code, "UNSUPPORTED_TRANSFER_SYNTAX");
  assert.match(
    unsupported.message,
    /JPEG Spectral Selection, Non-Hierarchical .*\(1\.2\.840\.10008\.1\.2\.4\.53\)/,
  );
  assert.match(unsupported.message, /gdcmconv --raw/);
  assert.match(
    decodeError(read("not_dicom.dcm")).message,
    /not a DICOM file: there is no "DICM" prefix at byte 128/i,
  );
  assert.match(decodeError(read("empty.dcm")).message, /empty/);

  const cut = decodeError(read("truncated.dcm"));
  assert.match(cut.message, /1536 bytes expected/);
  assert.match(cut.message, /only 768 bytes/);
  assert.match(decodeError(read("truncated_header.dcm")).message, /\(0010,0010\).*file ends at byte 420/);

  assert.match(decodeError(read("no_rows.dcm")).message, /Rows/);
});

/** The JPEG baseline file with its Transfer Syntax UID replaced by another one of 22 characters. */
function patchSyntax(bytes: Uint8Array, uid: string): Uint8Array {
  const text = new TextDecoder("latin1").decode(bytes.subarray(0, 400));
  const at = text.indexOf("1.2.840.10008.1.2.4.50");
  assert.ok(at > 0 && uid.length === 22);
  const out = bytes.slice();
  for (let i = 0; i < uid.length; i++) out[at + i] = uid.charCodeAt(i);
  return out;
}

Deno.test("every truncation point of a file gives TRUNCATED (never garbage, never another error)", () => {
  const full = read("unsigned16_rescale.dcm");
  // A cut exactly between two elements before Pixel Data leaves a well-formed data set without pixels:
  // that one is MISSING_PIXEL_DATA, and its message must mention the likely truncation.
  const check = (bytes: Uint8Array, label: string) => {
    const e = decodeError(bytes);
    const ok = e.code === "TRUNCATED" || (e.code === "MISSING_PIXEL_DATA" && /truncated/.test(e.message));
    assert.ok(ok, `${label}: ${e.code} ${e.message}`);
    return e.code;
  };
  /** Every byte through the header, then every 17th byte through the pixel data (1536 bytes here). */
  const cutPoints = (length: number, step = 1) => {
    const out: number[] = [];
    for (let cut = 133; cut < length; cut += cut < length - 1600 ? step : 17) out.push(cut);
    return out;
  };
  const cuts = cutPoints(full.length);
  const truncatedCount =
    cuts.filter((cut) => check(full.subarray(0, cut), `cut at ${cut}`) === "TRUNCATED").length;
  assert.ok(truncatedCount > cuts.length - 40, `${truncatedCount} of ${cuts.length} cuts TRUNCATED`);
  for (
    const [name, step] of [["implicit_le.dcm", 1], ["big_endian.dcm", 1], ["modality_lut.dcm", 1], [
      "deflated.dcm",
      3,
    ]] as const
  ) {
    // modality_lut has a sequence with undefined lengths; the walk cannot look inside deflated streams
    const bytes = read(name);
    for (const cut of cutPoints(bytes.length, step)) check(bytes.subarray(0, cut), `${name} cut at ${cut}`);
  }
  assert.equal(decodeError(full.subarray(0, 100)).code, "NOT_DICOM");
});

Deno.test("random bytes and a DICM prefix with garbage never escape as non-DicomDecodeError", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const base = read("signed12_garbage.dcm");
  for (let trial = 0; trial < 200; trial++) {
    const bytes = base.slice();
    for (let k = 0; k < 4; k++) {
      bytes[132 + Math.floor(rand() * (bytes.length - 132))] = Math.floor(rand() * 256);
    }
    try {
      decodeDicom(bytes);
    } catch (e) {
      assert.ok(e instanceof DicomDecodeError, `trial ${trial}: ${e}`);
    }
  }
});

Deno.test("input may be a view into a larger buffer at an odd offset", () => {
  const bytes = read("signed12_garbage.dcm");
  const big = new Uint8Array(bytes.length + 11);
  big.set(bytes, 3);
  const { data } = decodeDicom(big.subarray(3, 3 + bytes.length));
  assertSameValues(data, expectedArray("signed12_garbage.dcm").data, "offset view");
});

Deno.test("file meta without (0002,0000) group length still decodes", () => {
  const bytes = read("signed12_garbage.dcm");
  // (0002,0000) UL is the 12 bytes right after "DICM"
  assert.deepEqual(Array.from(bytes.subarray(132, 136)), [2, 0, 0, 0]);
  const stripped = new Uint8Array(bytes.length - 12);
  stripped.set(bytes.subarray(0, 132));
  stripped.set(bytes.subarray(144), 132);
  assertSameValues(decodeDicom(stripped).data, expectedArray("signed12_garbage.dcm").data, "no group length");
});

Deno.test("DicomDecodeError is an Error with a code", () => {
  const e = decodeError(read("empty.dcm"));
  assert.ok(e instanceof Error);
  assert.equal(e.name, "DicomDecodeError");
  assert.equal(e.code, "NOT_DICOM");
});

Deno.test("readHeader: header only, works for compressed and pixel-truncated files", () => {
  const jpeg = readHeader(read("jpeg_baseline.dcm"));
  assert.equal(jpeg.transferSyntaxUid, "1.2.840.10008.1.2.4.50");
  assert.equal(jpeg.rows, 24);
  assert.equal(jpeg.cols, 32);
  assert.equal(jpeg.dataset.PixelData, undefined);
  assert.match(jpeg.codec ?? "", /libjpeg-turbo/);
  assert.match(readHeader(read("rle.dcm")).codec ?? "", /RLE/);
  const cut = readHeader(read("truncated.dcm"));
  assert.equal(cut.windows.length, 3);
  const noPixels = readHeader(read("no_pixels.dcm"));
  assert.equal(noPixels.bitsAllocated, 16);
  assert.equal(readHeaderError(read("not_dicom.dcm")), "NOT_DICOM");
  assert.equal(readHeaderError(read("truncated_header.dcm")), "TRUNCATED");
  assert.deepEqual(readHeader(read("modality_lut.dcm")).modalityLut?.firstMapped, -128);
});

function readHeaderError(bytes: Uint8Array): DecodeErrorCode | undefined {
  try {
    readHeader(bytes);
  } catch (e) {
    assert.ok(e instanceof DicomDecodeError);
    return e.code;
  }
  return undefined;
}

Deno.test("TRANSFER_SYNTAXES names every standard syntax; every image syntax of issue 4 is supported", () => {
  const expectSupported = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.98",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.5",
  ];
  for (const uid of expectSupported) {
    const info = TRANSFER_SYNTAXES.get(uid);
    assert.equal(info?.supported, true, uid);
    assert.ok(info.name.length > 5 && info.encoding !== undefined, uid);
  }
  assert.equal([...TRANSFER_SYNTAXES.values()].filter((t) => t.supported).length, expectSupported.length);
  assert.equal(TRANSFER_SYNTAXES.get("1.2.840.10008.1.2.5")?.name, "RLE Lossless");
  assert.equal(TRANSFER_SYNTAXES.get("1.2.840.10008.1.2.4.91")?.lossy, true);
  assert.equal(TRANSFER_SYNTAXES.get("1.2.840.10008.1.2.4.90")?.lossy, undefined);
  for (const uid of ["1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.55"]) {
    assert.equal(TRANSFER_SYNTAXES.get(uid)?.supported, false, uid);
  }
});

Deno.test("dcmjs does not write to the console while decoding", () => {
  const calls: string[] = [];
  const saved = {
    log: console.log,
    warn: console.warn,
    error: console.error,
    info: console.info,
    debug: console.debug,
  };
  const capture = (kind: string) => (...args: unknown[]) => void calls.push(`${kind}: ${args.join(" ")}`);
  Object.assign(console, {
    log: capture("log"),
    warn: capture("warn"),
    error: capture("error"),
    info: capture("info"),
    debug: capture("debug"),
  });
  try {
    for (const [name] of [...GOOD, ...BAD]) {
      try {
        decodeDicom(read(name));
      } catch { /* codes are checked elsewhere */ }
    }
  } finally {
    Object.assign(console, saved);
  }
  assert.deepEqual(calls, []);
});

// ---- a 512x512 16-bit slice, built in memory ------------------------------------------------------------

function syntheticSlice(rows: number, cols: number, words: Uint16Array): Uint8Array {
  return part10("1.2.840.10008.1.2.1", [
    element(0x00080060, "CS", text("CT")),
    ...imagePixelModule({ rows, cols, bitsAllocated: 16, bitsStored: 12, signed: true }),
    element(0x00281052, "DS", text("-1024", "DS")),
    element(0x00281053, "DS", text("1", "DS")),
    element(0x7fe00010, "OW", new Uint8Array(words.buffer)),
  ]);
}

Deno.test("512x512 16-bit slice decodes correctly (speed: deno task bench)", () => {
  const n = 512 * 512;
  const words = new Uint16Array(n);
  for (let i = 0; i < n; i++) words[i] = (i * 2654435761) >>> 16; // garbage in the top nibble too
  const first = decodeDicom(syntheticSlice(512, 512, words));
  for (let i = 0; i < n; i += 997) {
    const expected = ((words[i] & 0x0fff) << 20) >> 20;
    assert.equal(first.data[i], expected, `pixel ${i}`);
  }
});
