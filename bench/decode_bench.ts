/**
 * Decode throughput per transfer syntax: `deno run -A bench/decode_bench.ts [--frames N] [--size S] [--only TEXT]`.
 *
 * Builds multi-frame DICOM files of a synthetic S x S CT slice (12-bit, default 512 x 512, 4 frames) in every
 * supported syntax, in memory, with the codec packages' own WASM encoders (libjpeg-turbo, CharLS, OpenJPEG,
 * OpenJPH), a small RLE encoder here, and DCMTK's `dcmcjpeg` for 12-bit and lossless JPEG when it is on
 * PATH (those rows are skipped otherwise). Every file is first checked to decode to the right shape; then
 * `decodeDicomAsync` is timed (best of several runs, after a warm-up of at least 2 s that loads the codec and
 * lets V8 tier up its WASM) and a Markdown table of ms per frame is printed.
 *
 * @module
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeName } from "../core/platform.ts";
import { decodeDicomAsync } from "../dicom/mod.ts";
import { concatBytes } from "../dicom/bytes.ts";
import {
  element,
  encapsulatedPixelData,
  even,
  EXPLICIT_BE,
  EXPLICIT_LE,
  imagePixelModule,
  part10,
  text,
} from "../tests/support/dicom_writer.ts";
import { packBits, rleFrame } from "../tests/support/rle_encode.ts";
import { numberOption, textOption } from "./options.ts";

const SIZE = numberOption("size", 512);
const FRAMES = numberOption("frames", 4);
const RUNS = 7;

// ---- images ---------------------------------------------------------------------------------------------

const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** A chest-like CT phantom, stored values 0..4095 (HU + 1024). */
function ctFrame(n: number, seed: number): Uint16Array {
  const rand = rng(seed);
  const px = new Uint16Array(n * n);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const u = (x - n / 2) / (n * 0.42);
      const v = (y - n / 2) / (n * 0.32);
      let hu = u * u + v * v < 1 ? 40 : -1000;
      for (const side of [-1, 1]) {
        const lu = (x - n / 2 - side * n * 0.18) / (n * 0.13);
        const lv = (y - n / 2) / (n * 0.22);
        if (lu * lu + lv * lv < 1) hu = -800;
      }
      hu += (rand() - 0.5) * 40;
      px[y * n + x] = Math.max(0, Math.min(4095, Math.round(hu + 1024)));
    }
  }
  return px;
}

/** An 8-bit RGB photo-like frame (interleaved). */
function rgbFrame(n: number, seed: number): Uint8Array {
  const rand = rng(seed);
  const px = new Uint8Array(n * n * 3);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = 3 * (y * n + x);
      px[i] = (x * 255) / n + rand() * 8;
      px[i + 1] = (y * 255) / n + rand() * 8;
      px[i + 2] = 128 + 100 * Math.sin((x + y) / 20) + rand() * 8;
    }
  }
  return px;
}

const to8bit = (px: Uint16Array) => Uint8Array.from(px, (v) => v >> 4);

interface Pixels {
  readonly samples: 1 | 3;
  readonly bits: 8 | 16;
  readonly stored: number;
  readonly photometric: string;
}

/** A Part 10 file: native pixel data (one Uint8Array of all frames, in file byte order) or encapsulated frames. */
function dicomFile(uid: string, px: Pixels, pixelData: Uint8Array | Uint8Array[]): Uint8Array {
  const encoding = uid === "1.2.840.10008.1.2.2" ? EXPLICIT_BE : EXPLICIT_LE;
  const pixels = Array.isArray(pixelData)
    ? encapsulatedPixelData(pixelData)
    : element(0x7fe00010, px.bits === 8 ? "OB" : "OW", even(pixelData), { encoding });
  const module = { rows: SIZE, cols: SIZE, bitsAllocated: px.bits, bitsStored: px.stored, frames: FRAMES };
  return part10(uid, [
    element(0x00080060, "CS", text("CT"), { encoding }),
    ...imagePixelModule({ ...module, samples: px.samples, photometric: px.photometric }, encoding),
    pixels,
  ]);
}

// ---- encoders -----------------------------------------------------------------------------------------------

type Module = Record<string, new () => Record<string, (...a: unknown[]) => unknown>>;
async function wasm(load: () => Promise<{ default: unknown }>): Promise<Module> {
  const factory = (await load()).default as (arg: unknown) => Promise<Module>;
  // A fresh module object per instantiation: Emscripten registers the Embind classes on it.
  return await factory({ print: () => {}, printErr: () => {} });
}

function encodeWith(
  m: Module,
  cls: string,
  frame: Uint8Array,
  info: Record<string, unknown>,
  setup: (e: Record<string, (...a: unknown[]) => unknown>) => void,
): Uint8Array {
  const e = new m[cls]();
  (e.getDecodedBuffer(info) as Uint8Array).set(frame);
  setup(e);
  e.encode();
  const out = (e.getEncodedBuffer() as Uint8Array).slice();
  e.delete();
  return out;
}

/** RLE Lossless (PS3.5 Annex G): one PackBits segment per byte plane, most significant byte first. */
function rleEncode(frame: Uint8Array, samples: number, bytesPerSample: number): Uint8Array {
  const pixels = frame.length / (samples * bytesPerSample);
  const segments: Uint8Array[] = [];
  for (let s = 0; s < samples; s++) {
    for (let b = bytesPerSample - 1; b >= 0; b--) {
      const plane = new Uint8Array(pixels);
      for (let p = 0; p < pixels; p++) plane[p] = frame[(p * samples + s) * bytesPerSample + b];
      segments.push(packBits(plane));
    }
  }
  return rleFrame(segments);
}

/** DCMTK's dcmcjpeg on a native file, when installed. */
function dcmcjpeg(file: Uint8Array, options: string[]): Uint8Array | undefined {
  const dir = mkdtempSync(join(tmpdir(), "dcmflow-bench-"));
  try {
    writeFileSync(join(dir, "in.dcm"), file);
    execFileSync("dcmcjpeg", [...options, join(dir, "in.dcm"), join(dir, "out.dcm")], { stdio: "ignore" });
    return new Uint8Array(readFileSync(join(dir, "out.dcm")));
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---- the files ----------------------------------------------------------------------------------------------

const ct = Array.from({ length: FRAMES }, (_, i) => ctFrame(SIZE, i + 1));
const ctBytes = ct.map((f) => new Uint8Array(f.buffer));
const ct8 = ct.map(to8bit);
const rgb = Array.from({ length: FRAMES }, (_, i) => rgbFrame(SIZE, i + 11));
const mono12: Pixels = { samples: 1, bits: 16, stored: 12, photometric: "MONOCHROME2" };
const mono8: Pixels = { samples: 1, bits: 8, stored: 8, photometric: "MONOCHROME2" };
const colour: Pixels = { samples: 3, bits: 8, stored: 8, photometric: "RGB" };
const gray16 = {
  width: SIZE,
  height: SIZE,
  bitsPerSample: 16,
  componentCount: 1,
  isSigned: false,
  isUsingColorTransform: false,
};
const gray8 = { ...gray16, bitsPerSample: 8 };
const rgb8 = { ...gray8, componentCount: 3, isUsingColorTransform: true };

const turbo = await wasm(() => import("@cornerstonejs/codec-libjpeg-turbo-8bit"));
const charls = await wasm(() => import("@cornerstonejs/codec-charls"));
const openjpeg = await wasm(() => import("@cornerstonejs/codec-openjpeg"));
const openjph = await wasm(() => import("@cornerstonejs/codec-openjph"));

interface Case {
  readonly label: string;
  readonly uid: string;
  readonly pixels: Pixels;
  /** Undefined when the encoder is not available. */
  readonly file?: Uint8Array;
}

const native = dicomFile("1.2.840.10008.1.2.1", mono12, concatBytes(ctBytes));
const swapped = concatBytes(ctBytes.map((b) => Uint8Array.from(b, (_, i) => b[i ^ 1])));
const j2kLossy = (e: Record<string, (...a: unknown[]) => unknown>) => {
  e.setQuality(false, 1);
  e.setCompressionRatio(0, 10);
};
const make = (label: string, uid: string, pixels: Pixels, data?: Uint8Array | Uint8Array[]): Case => ({
  label,
  uid,
  pixels,
  file: data === undefined ? undefined : dicomFile(uid, pixels, data),
});
const ybr = { ...colour, photometric: "YBR_FULL_422" };
const rct = { ...colour, photometric: "YBR_RCT" };
const cases: Case[] = [
  { label: "native 12-bit", uid: "1.2.840.10008.1.2.1", pixels: mono12, file: native },
  make("native big endian 12-bit", "1.2.840.10008.1.2.2", mono12, swapped),
  make("RLE 12-bit", "1.2.840.10008.1.2.5", mono12, ctBytes.map((f) => rleEncode(f, 1, 2))),
  make("RLE RGB", "1.2.840.10008.1.2.5", colour, rgb.map((f) => rleEncode(f, 3, 1))),
  make(
    "JPEG baseline 8-bit",
    "1.2.840.10008.1.2.4.50",
    mono8,
    ct8.map((f) => encodeWith(turbo, "JPEGEncoder", f, gray8, (e) => e.setQuality(90))),
  ),
  make(
    "JPEG baseline YBR_FULL_422",
    "1.2.840.10008.1.2.4.50",
    ybr,
    rgb.map((f) => encodeWith(turbo, "JPEGEncoder", f, rgb8, (e) => e.setQuality(90))),
  ),
  {
    label: "JPEG extended 12-bit",
    uid: "1.2.840.10008.1.2.4.51",
    pixels: mono12,
    file: dcmcjpeg(native, ["+ee", "+un"]),
  },
  {
    label: "JPEG lossless SV1 12-bit",
    uid: "1.2.840.10008.1.2.4.70",
    pixels: mono12,
    file: dcmcjpeg(native, ["+e1", "+un"]),
  },
  make(
    "JPEG-LS lossless 12-bit",
    "1.2.840.10008.1.2.4.80",
    mono12,
    ctBytes.map((f) => encodeWith(charls, "JpegLSEncoder", f, gray16, () => {})),
  ),
  make(
    "JPEG-LS near-lossless 12-bit (NEAR 2)",
    "1.2.840.10008.1.2.4.81",
    mono12,
    ctBytes.map((f) => encodeWith(charls, "JpegLSEncoder", f, gray16, (e) => e.setNearLossless(2))),
  ),
  make(
    "JPEG 2000 lossless 12-bit",
    "1.2.840.10008.1.2.4.90",
    mono12,
    ctBytes.map((f) => encodeWith(openjpeg, "J2KEncoder", f, gray16, (e) => e.setQuality(true, 1))),
  ),
  make(
    "JPEG 2000 lossy 12-bit (10:1)",
    "1.2.840.10008.1.2.4.91",
    mono12,
    ctBytes.map((f) => encodeWith(openjpeg, "J2KEncoder", f, gray16, j2kLossy)),
  ),
  make(
    "JPEG 2000 YBR_RCT",
    "1.2.840.10008.1.2.4.90",
    rct,
    rgb.map((f) => encodeWith(openjpeg, "J2KEncoder", f, rgb8, (e) => e.setQuality(true, 1))),
  ),
  make(
    "HTJ2K lossless 12-bit",
    "1.2.840.10008.1.2.4.201",
    mono12,
    ctBytes.map((f) => encodeWith(openjph, "HTJ2KEncoder", f, gray16, (e) => e.setQuality(true, 0))),
  ),
  make(
    "HTJ2K lossy 12-bit",
    "1.2.840.10008.1.2.4.203",
    mono12,
    ctBytes.map((f) => encodeWith(openjph, "HTJ2KEncoder", f, gray16, (e) => e.setQuality(false, 0.001))),
  ),
  make(
    "HTJ2K YBR_RCT",
    "1.2.840.10008.1.2.4.201",
    rct,
    rgb.map((f) => encodeWith(openjph, "HTJ2KEncoder", f, rgb8, (e) => e.setQuality(true, 0))),
  ),
];

// ---- timing -------------------------------------------------------------------------------------------------

/** `--only TEXT`: the rows whose label holds TEXT (e.g. to profile one codec with `--cpu-prof`). */
const only = textOption("only", "");
const rows: string[] = [];
for (const { label, uid, pixels, file } of cases.filter((c) => c.label.includes(only))) {
  if (!file) {
    rows.push(`| ${label} | ${uid} | skipped: \`dcmcjpeg\` (DCMTK) is not on PATH | | | |`);
    continue;
  }
  const first = await decodeDicomAsync(file); // loads the codec and checks the file
  if (first.shape[0] !== FRAMES || first.shape[2] !== SIZE) {
    throw new Error(`${label}: decoded ${first.shape}`);
  }
  // Warm up for at least 3 runs and 2 s: V8 compiles big WASM modules to optimized code in the background.
  for (let i = 0, t = performance.now(); i < 3 || performance.now() - t < 2000; i++) {
    await decodeDicomAsync(file);
  }
  let best = Infinity;
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    await decodeDicomAsync(file);
    best = Math.min(best, performance.now() - t0);
  }
  const perFrame = best / FRAMES;
  const raw = FRAMES * SIZE * SIZE * pixels.samples * (pixels.bits / 8);
  const codec = (first.meta.codec ?? "").replace(/ \(.*$/, "");
  rows.push(
    `| ${label} | ${uid} | ${codec} | ${(raw / file.length).toFixed(1)}:1 | ${perFrame.toFixed(2)} | ` +
      `${((SIZE * SIZE) / (perFrame * 1000)).toFixed(0)} |`,
  );
}

console.log(
  `\n### Decode throughput: ${FRAMES} frames of ${SIZE} x ${SIZE} per file, best of ${RUNS} (${runtimeName()})\n`,
);
console.log("| image | transfer syntax UID | codec | compression | ms / frame | Mpixel/s |");
console.log("| ----- | ------------------- | ----- | ----------: | ---------: | -------: |");
for (const r of rows) console.log(r);
