/**
 * Issue 4: every transfer syntax, photometric interpretation and pixel module variant, against an
 * independent reference decoder.
 *
 * The expected `.npy` beside each fixture holds the stored values (RGB for colour images) that the tools'
 * own decompression gives (dcmdjpeg / dcmdjpls / dcmdrle from DCMTK, `gdcmconv --raw` from GDCM with
 * OpenJPEG 2.5, read back with pydicom; pydicom's convert_color_space / apply_color_lut for colour), see
 * tests/fixtures/dicom/make_dicom_fixtures.py. Lossless syntaxes must match exactly (the generator also
 * checks the reference against the ground truth). Lossy syntaxes match exactly too where both sides run the
 * same algorithm (IJG islow IDCT: libjpeg-turbo and the built-in 12-bit decoder vs DCMTK's IJG 6b; OpenJPEG
 * WASM vs OpenJPEG 2.5; JPEG-LS near-lossless is deterministic). The one tolerance: HTJ2K lossy decoded by
 * OpenJPH vs OpenJPEG may differ by 1 (two floating-point 9/7 wavelet implementations round differently).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { decodeNpy } from "../core/npy.ts";
import { jpegDctCodec } from "../dicom/codecs/jpeg_dct.ts";
import { loadCodec } from "../dicom/codecs/registry.ts";
import { decodeDicomAsync, type DecodeErrorCode, DicomDecodeError, readHeader } from "../dicom/mod.ts";
import { splitFrames } from "../dicom/encapsulated.ts";

const DIR = new URL("./fixtures/dicom/", import.meta.url);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, DIR)));
const expected = (name: string) => decodeNpy(read(name.replace(/\.dcm$/, ".npy")));

interface Case {
  readonly file: string;
  readonly shape: readonly [number, number, number, number];
  /** Pattern the codec name must match. */
  readonly codec: RegExp;
  /** Pattern of meta.colourConversion, for colour models other than RGB. */
  readonly colour?: RegExp;
  /** Largest allowed difference from the reference (0: exact). */
  readonly tolerance?: number;
}

const NATIVE = /^none/;
const RLE = /RLE/;
const TURBO = /libjpeg-turbo/;
const DCT = /built-in sequential DCT/;
const LOSSLESS = /built-in JPEG lossless decoder/;
const CHARLS = /CharLS/;
const OPENJPEG = /OpenJPEG/;
const OPENJPH = /OpenJPH/;

const CASES: ReadonlyArray<Case> = [
  // RLE Lossless: 8/16/32-bit, 1 and 3 samples, YBR_FULL, multi-frame without offset table
  { file: "rle.dcm", shape: [1, 1, 24, 32], codec: RLE },
  { file: "rle_16bit_signed.dcm", shape: [1, 1, 48, 64], codec: RLE },
  { file: "rle_32bit.dcm", shape: [1, 1, 24, 32], codec: RLE },
  { file: "rle_rgb.dcm", shape: [1, 3, 25, 33], codec: RLE },
  { file: "rle_ybr_full.dcm", shape: [1, 3, 24, 32], codec: RLE, colour: /^YBR_FULL -> RGB \(decode\)$/ },
  { file: "rle_multiframe_empty_bot.dcm", shape: [3, 1, 24, 32], codec: RLE },
  // JPEG baseline 8-bit (libjpeg-turbo): monochrome, YBR_FULL_422, YBR_FULL, RGB; fragments with/without BOT
  { file: "jpeg_baseline.dcm", shape: [1, 1, 24, 32], codec: TURBO },
  {
    file: "jpeg_baseline_ybr422.dcm",
    shape: [1, 3, 48, 64],
    codec: TURBO,
    colour: /YBR_FULL_422 -> RGB by libjpeg/,
  },
  {
    file: "jpeg_baseline_ybr_full.dcm",
    shape: [1, 3, 48, 64],
    codec: TURBO,
    colour: /YBR_FULL -> RGB by libjpeg/,
  },
  { file: "jpeg_baseline_rgb.dcm", shape: [1, 3, 48, 64], codec: TURBO },
  { file: "jpeg_fragments_bot.dcm", shape: [3, 1, 48, 64], codec: TURBO },
  { file: "jpeg_fragments_no_bot.dcm", shape: [3, 1, 48, 64], codec: TURBO },
  // JPEG extended: 12-bit (built-in decoder, odd size, 2 frames) and 8-bit colour (libjpeg-turbo)
  { file: "jpeg_extended_12bit.dcm", shape: [1, 1, 48, 64], codec: DCT },
  { file: "jpeg_extended_12bit_odd.dcm", shape: [2, 1, 45, 61], codec: DCT },
  { file: "jpeg_extended_12bit_noisy.dcm", shape: [1, 1, 64, 96], codec: DCT }, // dense blocks, long codes
  { file: "jpeg_extended_8bit_ybr422.dcm", shape: [1, 3, 48, 64], codec: TURBO, colour: /YBR_FULL_422/ },
  // JPEG lossless .70 / .57
  { file: "jpeg_lossless_sv1.dcm", shape: [1, 1, 48, 64], codec: LOSSLESS },
  { file: "jpeg_lossless_sv6.dcm", shape: [1, 1, 48, 64], codec: LOSSLESS },
  { file: "jpeg_lossless_rgb.dcm", shape: [1, 3, 24, 32], codec: LOSSLESS },
  // JPEG-LS lossless / near-lossless
  { file: "jpegls_lossless_signed.dcm", shape: [1, 1, 48, 64], codec: CHARLS },
  { file: "jpegls_near_lossless.dcm", shape: [1, 1, 25, 33], codec: CHARLS },
  { file: "jpegls_rgb.dcm", shape: [1, 3, 24, 32], codec: CHARLS },
  { file: "jpegls_multiframe_bot.dcm", shape: [3, 1, 24, 32], codec: CHARLS },
  // JPEG 2000 lossless / lossy, YBR_RCT / YBR_ICT, extended offset table, signedness mismatch
  { file: "j2k_lossless.dcm", shape: [1, 1, 48, 64], codec: OPENJPEG },
  { file: "j2k_lossy.dcm", shape: [1, 1, 48, 64], codec: OPENJPEG },
  {
    file: "j2k_ybr_rct.dcm",
    shape: [1, 3, 24, 32],
    codec: OPENJPEG,
    colour: /YBR_RCT -> RGB by OpenJPEG.*RCT/,
  },
  {
    file: "j2k_ybr_ict.dcm",
    shape: [1, 3, 24, 32],
    codec: OPENJPEG,
    colour: /YBR_ICT -> RGB by OpenJPEG.*ICT/,
  },
  { file: "j2k_extended_offset_table.dcm", shape: [3, 1, 24, 32], codec: OPENJPEG },
  { file: "j2k_unsigned_codestream_signed_pixels.dcm", shape: [1, 1, 24, 32], codec: OPENJPEG },
  // Encapsulated Uncompressed (native frames as fragments; reference: the ground truth)
  { file: "encapsulated_uncompressed.dcm", shape: [2, 1, 24, 32], codec: /encapsulated uncompressed/ },
  // HTJ2K .201 / .202 (RPCL + TLM) / .203, and YBR_RCT
  { file: "htj2k_lossless.dcm", shape: [1, 1, 48, 64], codec: OPENJPH },
  { file: "htj2k_rpcl.dcm", shape: [1, 1, 48, 64], codec: OPENJPH },
  { file: "htj2k_lossy.dcm", shape: [1, 1, 48, 64], codec: OPENJPH, tolerance: 1 },
  { file: "htj2k_ybr_rct.dcm", shape: [1, 3, 24, 32], codec: OPENJPH, colour: /YBR_RCT -> RGB by OpenJPH/ },
  // pixel module and colour models, uncompressed
  { file: "bits1.dcm", shape: [1, 1, 24, 32], codec: NATIVE },
  { file: "bits1_multiframe.dcm", shape: [3, 1, 5, 7], codec: NATIVE },
  { file: "float_pixels.dcm", shape: [1, 1, 24, 32], codec: NATIVE },
  { file: "double_float_pixels.dcm", shape: [1, 1, 24, 32], codec: NATIVE },
  { file: "ybr_full.dcm", shape: [1, 3, 24, 32], codec: NATIVE, colour: /^YBR_FULL -> RGB \(decode\)$/ },
  {
    file: "ybr_full_422.dcm",
    shape: [1, 3, 24, 32],
    codec: NATIVE,
    colour: /^YBR_FULL_422 -> RGB \(decode\)$/,
  },
  { file: "palette_8bit.dcm", shape: [1, 3, 24, 32], codec: NATIVE, colour: /8-bit palette/ },
  { file: "palette_16bit.dcm", shape: [1, 3, 24, 32], codec: NATIVE, colour: /16-bit palette/ },
  {
    file: "palette_segmented.dcm",
    shape: [1, 3, 24, 32],
    codec: NATIVE,
    colour: /16-bit palette \(segmented\)/,
  },
  // files in the wild
  { file: "wild_implicit.dcm", shape: [1, 1, 24, 32], codec: NATIVE },
  { file: "wild_explicit_un.dcm", shape: [1, 1, 24, 32], codec: NATIVE },
  {
    file: "wild_jpeg_ycbcr_labelled_rgb.dcm",
    shape: [1, 3, 48, 64],
    codec: TURBO,
    colour: /RGB in the data set, but the codestream is YCbCr/,
  },
  { file: "wild_odd_length_pixels.dcm", shape: [1, 1, 25, 33], codec: NATIVE },
  { file: "wild_no_preamble.dcm", shape: [1, 3, 24, 32], codec: CHARLS },
  { file: "wild_encapsulated_no_transfer_syntax.dcm", shape: [1, 1, 48, 64], codec: CHARLS },
  // issue 15: JPEG RGB without a colour transform, decided per codestream (references: dcmdjpeg = GDCM =
  // pydicom), and a JPEG 2000 frame whose bytes contain the item / sequence delimiter patterns
  { file: "jpeg_rgb_adobe.dcm", shape: [1, 3, 24, 32], codec: TURBO },
  { file: "jpeg_rgb_ids.dcm", shape: [1, 3, 24, 32], codec: TURBO },
  { file: "jpeg_rgb_silent.dcm", shape: [1, 3, 24, 32], codec: TURBO },
  {
    file: "jpeg_ybr_silent.dcm",
    shape: [1, 3, 24, 32],
    codec: TURBO,
    colour: /YBR_FULL_422 -> RGB by libjpeg/,
  },
  { file: "j2k_delimiter_bytes.dcm", shape: [1, 1, 48, 64], codec: OPENJPEG },
];

for (const c of CASES) {
  Deno.test(`decode ${c.file}: equals the reference decoder${c.tolerance ? ` within ${c.tolerance}` : ""}`, async () => {
    const { meta, data, shape } = await decodeDicomAsync(read(c.file));
    const ref = expected(c.file);
    assert.deepEqual([...shape], [...c.shape]);
    assert.deepEqual(ref.shape, [...c.shape], "fixture shape");
    assert.equal(data.length, ref.data.length);
    let worst = 0;
    let at = -1;
    for (let i = 0; i < data.length; i++) {
      const d = Math.abs(data[i] - Number(ref.data[i]));
      if (d > worst) [worst, at] = [d, i];
    }
    assert.ok(
      worst <= (c.tolerance ?? 0),
      `element ${at}: ${data[at]} vs ${ref.data[at]} (difference ${worst})`,
    );
    assert.match(meta.codec ?? "", c.codec);
    if (c.shape[1] === 3) assert.equal(meta.decodedPhotometric, "RGB");
    if (c.colour) assert.match(meta.colourConversion ?? "", c.colour);
    else assert.equal(meta.colourConversion, undefined);
    assert.equal(meta.dataset.PixelData, undefined);
  });
}

Deno.test("colour metadata: the stored photometric is kept, the output is RGB", async () => {
  const { meta } = await decodeDicomAsync(read("jpeg_baseline_ybr422.dcm"));
  assert.equal(meta.photometric, "YBR_FULL_422");
  assert.equal(meta.decodedPhotometric, "RGB");
  assert.equal(meta.samplesPerPixel, 3);
  const palette = await decodeDicomAsync(read("palette_segmented.dcm"));
  assert.equal(palette.meta.photometric, "PALETTE COLOR");
  assert.equal(palette.meta.samplesPerPixel, 1);
  assert.deepEqual(palette.meta.palette, { entries: 4096, firstMapped: 0, bits: 16, segmented: true });
  const mono = await decodeDicomAsync(read("mono1_8bit.dcm"));
  assert.equal(mono.meta.decodedPhotometric, "MONOCHROME1");
  assert.equal((await decodeDicomAsync(read("double_float_pixels.dcm"))).meta.floatPixelData, "float64");
});

Deno.test("signedness: JPEG-LS and an unsigned J2K codestream give the signed values PixelRepresentation says", async () => {
  for (
    const file of [
      "jpegls_lossless_signed.dcm",
      "j2k_unsigned_codestream_signed_pixels.dcm",
      "htj2k_rpcl.dcm",
    ]
  ) {
    const { meta, data } = await decodeDicomAsync(read(file));
    assert.equal(meta.pixelRepresentation, 1, file);
    assert.ok(data.some((v) => v < 0), `${file}: negative values expected`);
  }
});

Deno.test("the built-in DCT decoder is IJG-exact: it equals libjpeg-turbo on every 8-bit JPEG fixture", async () => {
  const turbo = await loadCodec("libjpeg-turbo");
  for (
    const file of [
      "jpeg_baseline.dcm",
      "jpeg_baseline_ybr422.dcm",
      "jpeg_baseline_ybr_full.dcm",
      "jpeg_baseline_rgb.dcm",
      "jpeg_extended_8bit_ybr422.dcm",
      "jpeg_rgb_adobe.dcm",
      "jpeg_rgb_ids.dcm",
      "jpeg_rgb_silent.dcm",
      "jpeg_ybr_silent.dcm",
    ]
  ) {
    const { meta } = await decodeDicomAsync(read(file));
    const frame = firstFrame(read(file));
    const request = {
      rows: meta.rows,
      cols: meta.cols,
      samples: meta.samplesPerPixel,
      bitsAllocated: 8,
      bitsStored: 8,
      signed: false,
      photometric: meta.photometric,
      frame: 1,
    };
    const a = turbo.decode(frame, request);
    const b = jpegDctCodec.decode(frame, request);
    assert.equal(a.convertedToRgb, b.convertedToRgb, file);
    const plane = meta.rows * meta.cols;
    for (let p = 0; p < plane; p++) {
      for (let s = 0; s < a.components; s++) {
        const va = a.samples[a.interleaved ? p * a.components + s : s * plane + p];
        const vb = b.samples[b.interleaved ? p * b.components + s : s * plane + p];
        if (va !== vb) assert.fail(`${file}: pixel ${p} sample ${s}: libjpeg-turbo ${va}, built-in ${vb}`);
      }
    }
  }
});

/** The first fragment of a single-fragment encapsulated file (test helper; not a DICOM parser). */
function firstFrame(bytes: Uint8Array): Uint8Array {
  // Pixel Data (7FE0,0010) OB, undefined length, then the Basic Offset Table item and the first fragment.
  for (let i = bytes.length - 12; i > 132; i--) {
    if (bytes[i] === 0xe0 && bytes[i + 1] === 0x7f && bytes[i + 2] === 0x10 && bytes[i + 3] === 0x00) {
      const v = new DataView(bytes.buffer, bytes.byteOffset);
      let p = i + 12;
      p += 8 + v.getUint32(p + 4, true); // Basic Offset Table
      return bytes.subarray(p + 8, p + 8 + v.getUint32(p + 4, true));
    }
  }
  throw new Error("no Pixel Data");
}

// ---- encapsulation ------------------------------------------------------------------------------------------

const SOI = (n: number) => new Uint8Array([0xff, 0xd8, 0xff, 0xe0, n, n, n, 0]);
const MID = (n: number) => new Uint8Array([n, n, n, n]);
const u32s = (values: number[]) => new Uint8Array(new Uint32Array(values).buffer);
const u64s = (values: number[]) => new Uint8Array(new BigUint64Array(values.map(BigInt)).buffer);

Deno.test("splitFrames: single frame, one fragment per frame, Basic Offset Table, start markers", () => {
  const frags = [SOI(1), MID(2), SOI(3), MID(4), MID(5)];
  const uid = "1.2.840.10008.1.2.4.50";
  const one = splitFrames([new Uint8Array(0), ...frags], 1, "jpeg", uid);
  assert.equal(one.index, "single frame");
  assert.equal(one.frames[0].length, 8 + 4 + 8 + 4 + 4);
  const markers = splitFrames([new Uint8Array(0), ...frags], 2, "jpeg", uid);
  assert.equal(markers.index, "start markers");
  assert.deepEqual(markers.frames.map((f) => f.length), [12, 16]);
  // offsets count item headers: fragment k starts at sum of (8 + length) of the ones before
  const bot = splitFrames([u32s([0, 28]), ...frags], 2, "jpeg", uid);
  assert.equal(bot.index, "basic offset table");
  assert.deepEqual(bot.frames.map((f) => f.length), [12, 16]);
  const perFrame = splitFrames([new Uint8Array(0), SOI(1), SOI(2)], 2, "jpeg", uid);
  assert.equal(perFrame.index, "one fragment per frame");
});

Deno.test("splitFrames: the Extended Offset Table wins, its lengths drop padding; bad tables fall back", () => {
  const uid = "1.2.840.10008.1.2.4.50";
  const frags = [SOI(1), MID(2), SOI(3)];
  const eot = splitFrames([new Uint8Array(0), ...frags], 2, "jpeg", uid, {
    offsets: u64s([0, 28]),
    lengths: u64s([11, 8]),
  });
  assert.equal(eot.index, "extended offset table");
  assert.deepEqual(eot.frames.map((f) => f.length), [11, 8]);
  // offsets that miss the fragment items (e.g. computed without padding): frames found by markers instead
  const fallback = splitFrames([u32s([0, 23]), ...frags], 2, "jpeg", uid);
  assert.equal(fallback.index, "start markers");
  assert.deepEqual(fallback.frames.map((f) => f.length), [12, 8]);
});

Deno.test("splitFrames: ambiguous or missing frames are INVALID_DICOM, never a guess", () => {
  const uid = "1.2.840.10008.1.2.4.50";
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof DicomDecodeError);
      return e.code;
    }
    return undefined;
  };
  assert.equal(code(() => splitFrames([new Uint8Array(0), SOI(1)], 2, "jpeg", uid)), "INVALID_DICOM");
  assert.equal(
    code(() => splitFrames([new Uint8Array(0), SOI(1), MID(2), MID(3)], 2, "jpeg", uid)),
    "INVALID_DICOM",
  );
  assert.equal(code(() => splitFrames([new Uint8Array(0)], 1, "jpeg", uid)), "INVALID_DICOM");
  assert.equal(
    code(() => splitFrames([u32s([0, 99]), SOI(1), MID(2), MID(3)], 2, "jpeg", uid)),
    "INVALID_DICOM",
  );
});

// ---- broken files ---------------------------------------------------------------------------------------------

const BROKEN: ReadonlyArray<readonly [string, DecodeErrorCode, RegExp]> = [
  ["broken_wrong_syntax_jpeg_as_jpegls.dcm", "INVALID_DICOM", /JPEG-LS .*but frame 1 holds jpeg data/],
  ["broken_wrong_syntax_native_as_j2k.dcm", "INVALID_DICOM", /defined length .*JPEG 2000/],
  ["broken_truncated_in_fragment.dcm", "TRUNCATED", /fragment \d+ of the encapsulated Pixel Data/],
  ["broken_jpeg_cut_short.dcm", "TRUNCATED", /libjpeg-turbo could not|libjpeg-turbo.*cut short/],
  ["broken_jpeg12_cut_short.dcm", "TRUNCATED", /ends in the middle of its entropy-coded data/],
  ["broken_jpeg_lossless_cut_short.dcm", "TRUNCATED", /JPEG lossless data of frame 1 ends/],
  [
    "broken_jpegls_cut_short.dcm",
    "TRUNCATED",
    /JPEG-LS data of frame 1 does not end with an EOI marker.*cut short/,
  ],
  ["broken_j2k_cut_short.dcm", "TRUNCATED", /does not end with an EOC marker/],
  ["broken_htj2k_cut_short.dcm", "TRUNCATED", /does not end with an EOC marker/],
  ["broken_rle_cut_short.dcm", "TRUNCATED", /RLE segment \d+ of frame 1 ends after/],
  ["broken_missing_frames.dcm", "INVALID_DICOM", /NumberOfFrames is 3 but there are only 2 fragment/],
  ["empty.dcm", "NOT_DICOM", /empty/],
  ["not_dicom.dcm", "NOT_DICOM", /no "DICM" prefix at byte 128/],
  ["truncated.dcm", "TRUNCATED", /1536 bytes expected/],
];

for (const [file, code, message] of BROKEN) {
  Deno.test(`broken ${file}: ${code}`, async () => {
    const e = await decodeDicomAsync(read(file)).then(
      () => assert.fail("decoded without error"),
      (e: unknown) => e,
    );
    assert.ok(e instanceof DicomDecodeError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    assert.ok(!/\n\s+at /.test(e.message), "no stack trace in the message");
  });
}

Deno.test("every cut point inside compressed pixel data gives TRUNCATED", async () => {
  for (const file of ["jpegls_multiframe_bot.dcm", "j2k_lossless.dcm", "rle_multiframe_empty_bot.dcm"]) {
    const full = read(file);
    const start = full.length - 1200;
    for (let cut = start; cut < full.length; cut += 97) {
      const e = await decodeDicomAsync(full.subarray(0, cut)).then(() => undefined, (e: unknown) => e);
      assert.ok(e instanceof DicomDecodeError, `${file} cut at ${cut}: decoded`);
      assert.equal(e.code, "TRUNCATED", `${file} cut at ${cut}: ${e.message}`);
    }
  }
});

Deno.test("flipped bytes inside compressed frames give coded errors, never a crash", async () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (
    const file of [
      "jpeg_baseline.dcm",
      "jpeg_extended_12bit.dcm",
      "jpegls_lossless_signed.dcm",
      "j2k_lossless.dcm",
      "htj2k_lossless.dcm",
      "rle_16bit_signed.dcm",
      "jpeg_lossless_sv1.dcm",
    ]
  ) {
    const base = read(file);
    for (let trial = 0; trial < 25; trial++) {
      const bytes = base.slice();
      for (let k = 0; k < 3; k++) {
        const at = base.length - 1 - Math.floor(rand() * Math.min(800, base.length - 400));
        bytes[at] = Math.floor(rand() * 256);
      }
      try {
        await decodeDicomAsync(bytes);
      } catch (e) {
        assert.ok(e instanceof DicomDecodeError, `${file} trial ${trial}: ${e}`);
      }
    }
  }
});

Deno.test("no Transfer Syntax UID and encapsulated pixel data: the syntax family comes from the codestream", async () => {
  const bytes = read("wild_encapsulated_no_transfer_syntax.dcm");
  assert.match(readHeader(bytes).transferSyntaxUid, /^1\.2\.840\.10008\.1\.2\.4\.8[01]$/);
  assert.match(readHeader(bytes).codec ?? "", CHARLS);
  assert.match((await decodeDicomAsync(bytes)).meta.codec ?? "", CHARLS);
});
