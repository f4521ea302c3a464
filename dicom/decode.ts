/**
 * DICOM Part 10 decoder: bytes -> stored pixel values + {@link ImageMeta}.
 *
 * Pure TypeScript (plus WASM codecs) on top of dcmjs, without Deno or Node APIs, so it runs unchanged under
 * Deno and Bun.
 *
 * - Every transfer syntax a hospital archive holds: implicit/explicit VR little endian, explicit VR big
 *   endian, deflated, encapsulated uncompressed, RLE Lossless, JPEG baseline (8-bit), extended (12-bit),
 *   lossless (.57/.70), JPEG-LS lossless and near-lossless, JPEG 2000 lossless and lossy, and the three
 *   HTJ2K syntaxes. {@link TRANSFER_SYNTAXES} lists them; the codecs are in `codecs/` and are loaded on
 *   first use of a syntax that needs them.
 * - Stored values are masked to `BitsStored` bits below `HighBit` and sign-extended when
 *   `PixelRepresentation` is 1, whatever the container or the codec put in the other bits.
 * - Colour images always come out as RGB (YBR_FULL, YBR_FULL_422, YBR_RCT, YBR_ICT, PALETTE COLOR), with the
 *   colour transform done exactly once (`meta.colourConversion` says by whom); `meta.photometric` keeps the
 *   stored value and `meta.decodedPhotometric` says "RGB".
 * - Output layout: `[frames, channels, rows, cols]`, planar, C order, float32.
 *
 * {@link decodeDicomAsync} loads the codec a file needs; {@link decodeDicom} is synchronous and uses the
 * codecs already loaded (all of them after `await loadCodecs()`). Both throw only {@link DicomDecodeError}.
 *
 * @module
 */
import type { ImageMeta, RawPixels } from "./meta.ts";
import {
  CODEC_IDS,
  codecForFrame,
  type CodecId,
  describeCodec,
  loadCodec,
  loadedCodec,
  resetCodec,
} from "./codecs/registry.ts";
import { endsWithEndMarker } from "./codecs/jpeg_markers.ts";
import type { DecodedFrame, FrameCodec, FrameRequest, SampleArray } from "./codecs/types.ts";
import { applyPalette, ybrFullToRgb } from "./colour.ts";
import { freeBuffer } from "./bytes.ts";
import { type Container, parseContainer } from "./container.ts";
import { type DecodeLimits, DEFAULT_LIMITS } from "./limits.ts";
import { type EncapsulatedFrames, sniffEncoding, splitFrames } from "./encapsulated.ts";
import { asDecodeError, DicomDecodeError, errorText, FatalDecodeError, guard } from "./errors.ts";
import { buildMeta, missingPixelData } from "./header.ts";
import { metaWith } from "./lazy_dataset.ts";
import { parsePalette } from "./lut.ts";
import { nativeFrameValues, nativeStoredValues } from "./native.ts";
import { checkDecodedFrame, checkFrameSize, checkPixelModule, pixelWarnings, storeFrame } from "./pixels.ts";
import {
  EXPLICIT_BE,
  type PixelEncoding,
  requireSupportedSyntax,
  syntaxLabel,
  TRANSFER_SYNTAXES,
} from "./syntaxes.ts";

/** The decoder's coded error (see errors.ts). */
export { type DecodeErrorCode, DicomDecodeError } from "./errors.ts";
/** The resource limits (see limits.ts). */
export { type DecodeLimits, DEFAULT_LIMITS } from "./limits.ts";
/** The transfer syntax table (see syntaxes.ts). */
export { type PixelEncoding, TRANSFER_SYNTAXES, type TransferSyntaxInfo } from "./syntaxes.ts";

/** Options of the decoding functions. */
export interface DecodeOptions {
  /** Resource limits, each defaulting to {@link DEFAULT_LIMITS}. */
  readonly limits?: Partial<DecodeLimits>;
}

const limitsOf = (options?: DecodeOptions): DecodeLimits =>
  options?.limits ? { ...DEFAULT_LIMITS, ...options.limits } : DEFAULT_LIMITS;

/** A decoded image: metadata and stored values. */
export interface DecodedDicom {
  readonly meta: ImageMeta;
  /** Stored values, shape {@link DecodedDicom.shape}, planar, C order. */
  readonly data: Float32Array;
  /** `[frames, channels, rows, cols]`; channels is 3 for every colour image (RGB), else 1. */
  readonly shape: readonly [number, number, number, number];
}

/**
 * Decode a DICOM Part 10 file (or a bare data set without preamble / file meta) into stored values,
 * loading the codec its transfer syntax needs on first use.
 *
 * @throws DicomDecodeError (never anything else)
 */
export async function decodeDicomAsync(bytes: Uint8Array, options?: DecodeOptions): Promise<DecodedDicom> {
  const prepared = guard(() => prepare(bytes, limitsOf(options)));
  const codecs = await codecsOf(prepared);
  return guard(() => finish(prepared, codecs));
}

/** The codecs a prepared file needs, loaded. */
async function codecsOf(prepared: Prepared): Promise<ReadonlyMap<CodecId, FrameCodec>> {
  const codecs = new Map<CodecId, FrameCodec>();
  try {
    await Promise.all([...prepared.codecIds].map(async (id) => codecs.set(id, await loadCodec(id))));
  } catch (e) {
    throw asDecodeError(e);
  }
  return codecs;
}

/**
 * Decode a DICOM file synchronously. Native syntaxes, RLE, 12-bit and lossless JPEG always work; the other codecs must
 * have been loaded before (by {@link loadCodecs}, or by an earlier {@link decodeDicomAsync}).
 *
 * @throws DicomDecodeError (never anything else); CODEC_UNAVAILABLE when the codec is not loaded yet
 */
export function decodeDicom(bytes: Uint8Array, options?: DecodeOptions): DecodedDicom {
  return guard(() => {
    const prepared = prepare(bytes, limitsOf(options));
    const codecs = new Map<CodecId, FrameCodec>();
    for (const id of prepared.codecIds) {
      const codec = loadedCodec(id);
      if (!codec) {
        throw new DicomDecodeError(
          "CODEC_UNAVAILABLE",
          `${syntaxLabel(prepared.meta.transferSyntaxUid)} needs the ${id} codec, which is loaded ` +
            "asynchronously (on first use, and afresh after a frame it failed on) and is not loaded now: call " +
            "`await decodeDicomAsync(bytes)` (the decode stage does) or `await loadCodecs()` before the " +
            "synchronous decodeDicom().",
        );
      }
      codecs.set(id, codec);
    }
    return finish(prepared, codecs);
  });
}

/**
 * Loads codecs ahead of time so that {@link decodeDicom} can use them: those of the given transfer syntaxes,
 * or all of them.
 *
 * @throws DicomDecodeError CODEC_UNAVAILABLE when one cannot be loaded
 */
export async function loadCodecs(transferSyntaxUids?: ReadonlyArray<string>): Promise<void> {
  const ids = new Set<CodecId>();
  if (!transferSyntaxUids) CODEC_IDS.forEach((id) => ids.add(id));
  for (const uid of transferSyntaxUids ?? []) {
    for (const id of ENCODING_CODECS[TRANSFER_SYNTAXES.get(uid)?.encoding ?? "native"]) ids.add(id);
  }
  await Promise.all([...ids].map(loadCodec));
}

const ENCODING_CODECS: Readonly<Record<PixelEncoding, ReadonlyArray<CodecId>>> = {
  native: [],
  uncompressed: [],
  rle: ["rle"],
  jpeg: ["libjpeg-turbo", "jpeg-dct", "jpeg-lossless"],
  jpegls: ["charls"],
  j2k: ["openjpeg"],
  htj2k: ["openjph", "openjpeg"],
};

/**
 * Read the header only (the pixel data is neither parsed nor checked), e.g. for `dcmflow inspect`. Works for
 * every transfer syntax, including ones that cannot be decoded. `codec` says which codec would decode it.
 *
 * @throws DicomDecodeError (never anything else)
 */
export function readHeader(bytes: Uint8Array, options?: DecodeOptions): ImageMeta {
  return guard(() => {
    const meta = buildMeta(parseContainer(bytes, true, limitsOf(options)));
    const encoding = TRANSFER_SYNTAXES.get(meta.transferSyntaxUid)?.encoding;
    return encoding
      ? metaWith(meta, { codec: describeCodec(encoding, meta.transferSyntaxUid, meta.bitsStored) })
      : meta;
  });
}

/** The raw stored words of a native image and how to unpack them (see shaders/unpack.wgsl). */
export interface RawImage {
  readonly meta: ImageMeta;
  readonly shape: readonly [number, number, number, number];
  readonly raw: RawPixels;
}

/**
 * The stored words of an uncompressed grayscale or RGB image, as they are in the file, for the GPU path to
 * upload and unpack there (BitsStored mask, sign extension and byte order applied by the kernel, exactly as
 * {@link decodeDicom} does on the CPU). Undefined when the pixels need CPU work first: compressed syntaxes,
 * colour models other than MONOCHROME1/2 and RGB, 1-bit or float pixel data, or truncated data (which
 * {@link decodeDicomAsync} reports as TRUNCATED).
 *
 * @throws DicomDecodeError for files that are not decodable at all (as {@link decodeDicom})
 */
export function readRawPixels(bytes: Uint8Array, options?: DecodeOptions): RawImage | undefined {
  return guard(() => {
    const p = prepare(bytes, limitsOf(options));
    const { meta, container } = p;
    const pixel = container.pixel;
    const bits = meta.bitsAllocated;
    if (
      p.encoding !== "native" || pixel?.tag !== "PixelData" || !pixel.value || meta.floatPixelData ||
      (bits !== 8 && bits !== 16 && bits !== 32) ||
      !["MONOCHROME1", "MONOCHROME2", "RGB"].includes(meta.photometric)
    ) return undefined;
    const count = meta.rows * meta.cols * meta.samplesPerPixel * meta.frames;
    const bigEndian = container.transferSyntaxUid === EXPLICIT_BE;
    const pairwise = bigEndian && pixel.vr === "OW" && bits === 8;
    const needed = pairwise ? count + (count & 1) : count * (bits / 8);
    if (pixel.value.length < needed) return undefined;
    const raw: RawPixels = {
      type: "raw",
      bytes: pixel.value.subarray(0, needed),
      bitsAllocated: bits,
      bitsStored: meta.bitsStored,
      shift: meta.highBit + 1 - meta.bitsStored,
      signed: meta.pixelRepresentation === 1,
      byteSwap: bigEndian && (bits > 8 || pairwise),
      planar: meta.samplesPerPixel > 1 && meta.planarConfiguration !== 1 ? 0 : 1,
    };
    const decodedMeta = metaWith(meta, {
      codec: describeCodec(p.encoding, meta.transferSyntaxUid, meta.bitsStored),
    });
    return { meta: decodedMeta, shape: [meta.frames, meta.samplesPerPixel, meta.rows, meta.cols], raw };
  });
}

/**
 * The stored words of a compressed image as its codec gives them, like {@link readRawPixels} gives an
 * uncompressed one's: no conversion to floats (the fused CPU path and the GPU unpack mask and sign-extend the
 * words as they read them, as {@link decodeDicomAsync} does). Grayscale (MONOCHROME1/2, one sample) and colour
 * that the codec hands on as RGB (RGB, YBR_RCT / YBR_ICT, and YBR_FULL(_422) when the codec converted every
 * frame, as libjpeg-turbo does), planar, with the meta {@link decodeDicomAsync} gives; BitsStored <= 16. A
 * single grayscale frame's words are the codec's own output. Undefined for anything else - uncompressed data
 * (see readRawPixels), PALETTE COLOR, YBR_FULL frames left to convert, float or wider data (see
 * decodeDicomAsync) - decided before any frame is decoded but for the last case.
 *
 * @throws DicomDecodeError as {@link decodeDicomAsync}
 */
export async function decodeRawPixelsAsync(
  bytes: Uint8Array,
  options?: DecodeOptions,
): Promise<RawImage | undefined> {
  const prepared = guard(() => prepare(bytes, limitsOf(options)));
  const { meta, encoding } = prepared;
  if (encoding === "native" || encoding === "uncompressed") return undefined;
  if (meta.bitsStored > 16 || meta.floatPixelData) return undefined;
  const gray = (meta.photometric === "MONOCHROME1" || meta.photometric === "MONOCHROME2") &&
    meta.samplesPerPixel === 1;
  if (!gray && !(meta.samplesPerPixel === 3 && RGB_FROM_CODEC.has(meta.photometric))) return undefined;
  const codecs = await codecsOf(prepared);
  return guard(() => finishRaw(prepared, codecs));
}

/** Colour models whose decoded samples are RGB once the codec has done its part (see {@link colourConversion}). */
const RGB_FROM_CODEC: ReadonlySet<string> = new Set([
  "RGB",
  "YBR_FULL",
  "YBR_FULL_422",
  "YBR_RCT",
  "YBR_ICT",
]);

/**
 * Every frame through its codec, into one planar array of 8- or 16-bit words (see {@link decodeRawPixelsAsync}),
 * each frame copied in as soon as it is decoded; undefined when a YBR_FULL(_422) frame still needs converting.
 */
function finishRaw(p: Prepared, codecs: ReadonlyMap<CodecId, FrameCodec>): RawImage | undefined {
  const { meta } = p;
  const names = new Set<string>();
  const converted: boolean[] = [];
  const ybrFull = meta.photometric === "YBR_FULL" || meta.photometric === "YBR_FULL_422";
  const words = new PlanarWords(meta.frames, meta.samplesPerPixel * meta.rows * meta.cols);
  for (const [i, frame] of p.encapsulated!.frames.entries()) {
    const codec = codecs.get(p.frameCodecs[i])!;
    names.add(codec.name);
    const decoded = decodeFrame(p.frameCodecs[i], codec, frame, frameRequest(meta, i));
    checkDecodedFrame(decoded, i, meta);
    if (ybrFull && !decoded.convertedToRgb) return undefined;
    converted.push(decoded.convertedToRgb);
    words.add(i, decoded);
  }
  const all = words.all();
  const raw: RawPixels = {
    type: "raw",
    bytes: new Uint8Array(all.buffer, all.byteOffset, all.byteLength),
    bitsAllocated: all.BYTES_PER_ELEMENT === 1 ? 8 : 16,
    bitsStored: meta.bitsStored,
    shift: 0,
    signed: meta.pixelRepresentation === 1,
    byteSwap: false,
    planar: 1,
  };
  const codecName = [...names].join(" + ");
  const conversion = meta.samplesPerPixel === 3
    ? colourConversion(meta.photometric, converted, codecName)
    : undefined;
  const decodedMeta = metaWith(meta, {
    codec: codecName,
    ...(conversion ? { colourConversion: conversion } : {}),
  });
  return { meta: decodedMeta, shape: [meta.frames, meta.samplesPerPixel, meta.rows, meta.cols], raw };
}

/**
 * The frames' samples as one array of words, `[frames, samples, rows, cols]` (`size` words a frame), filled
 * a frame at a time: bytes while every frame's are, else 16 bits (the low 16 of wider samples: BitsStored <=
 * 16, nothing above is read). A single planar frame of either type is its codec's own memory; any other frame
 * is copied in and its memory freed at once (a multi-frame file is never held twice).
 */
class PlanarWords {
  #words: Uint8Array | Uint16Array | undefined;
  /** A single frame's own samples, when they can be the words. */
  #own: Uint8Array | Uint16Array | undefined;

  constructor(private readonly frames: number, private readonly size: number) {}

  /** Frame `i`'s samples. */
  add(i: number, f: DecodedFrame): void {
    const bytes = f.samples.BYTES_PER_ELEMENT === 1 ? 1 : 2;
    if (
      this.frames === 1 && bytes === f.samples.BYTES_PER_ELEMENT && (!f.interleaved || f.components === 1)
    ) {
      const s = f.samples;
      this.#own = bytes === 1
        ? new Uint8Array(s.buffer, s.byteOffset, this.size)
        : new Uint16Array(s.buffer, s.byteOffset, this.size);
      return;
    }
    const words = this.#room(bytes);
    const n = f.components;
    if (!f.interleaved || n === 1) words.set(f.samples.subarray(0, this.size), i * this.size);
    else deinterleave(f.samples, n, this.size / n, words, i * this.size);
    // copied: the codec's memory goes now, not with the next full collection (0.8 MB a 512² RGB frame)
    freeBuffer(f.samples.buffer);
  }

  /** The words of every frame added. */
  all(): Uint8Array | Uint16Array {
    return this.#own ?? this.#words ?? new Uint8Array(0);
  }

  /** The words, wide enough for samples of `bytes` (bytes become 16 bits when a wider frame comes). */
  #room(bytes: 1 | 2): Uint8Array | Uint16Array {
    const total = this.frames * this.size;
    if (!this.#words) this.#words = bytes === 1 ? new Uint8Array(total) : new Uint16Array(total);
    else if (bytes === 2 && this.#words.BYTES_PER_ELEMENT === 1) {
      const wide = new Uint16Array(total);
      wide.set(this.#words);
      this.#words = wide;
    }
    return this.#words;
  }
}

/** Pixel-interleaved samples (`n` a pixel, `plane` pixels) into planes of `out` from `at`. */
function deinterleave(
  src: SampleArray,
  n: number,
  plane: number,
  out: Uint8Array | Uint16Array,
  at: number,
): void {
  if (n === 3 && src instanceof Uint8Array && out instanceof Uint8Array) {
    return rgbPlanes8(src, plane, out, at);
  }
  for (let s = 0; s < n; s++) {
    const o = at + s * plane;
    for (let p = 0, i = s; p < plane; p++, i += n) out[o + p] = src[i];
  }
}

/** {@link deinterleave} of 8-bit RGB, the common case (one pass, one type: 0.9 -> 0.7 ms a 512² frame). */
function rgbPlanes8(src: Uint8Array, plane: number, out: Uint8Array, at: number): void {
  for (let p = 0, i = 0, g = at + plane, b = at + 2 * plane; p < plane; p++, i += 3) {
    out[at + p] = src[i];
    out[g + p] = src[i + 1];
    out[b + p] = src[i + 2];
  }
}

// ---------------------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------------------

interface Prepared {
  readonly container: Container;
  readonly meta: ImageMeta;
  readonly encoding: PixelEncoding;
  /** Encapsulated syntaxes: the compressed frames. */
  readonly encapsulated?: EncapsulatedFrames;
  /** Compressed syntaxes: the codec of each frame. */
  readonly frameCodecs: ReadonlyArray<CodecId>;
  readonly codecIds: ReadonlySet<CodecId>;
}

/** Everything up to the codecs: container, header, pixel module checks, frame split, codec choice. */
function prepare(bytes: Uint8Array, limits: DecodeLimits): Prepared {
  const container = parseContainer(bytes, false, limits);
  const pixel = container.pixel;
  if (pixel === undefined) throw missingPixelData(container.dataset);
  const header = buildMeta(container);
  const encoding = requireSupportedSyntax(container.transferSyntaxUid);
  checkPixelModule(header, encoding);
  checkDecodedSize(header, limits);
  const warnings = [...(header.warnings ?? []), ...pixelWarnings(header, pixel, container.transferSyntaxUid)];
  const meta = warnings.length > 0 ? metaWith(header, { warnings }) : header;
  if (encoding === "native") return { container, meta, encoding, frameCodecs: [], codecIds: new Set() };
  if (pixel.tag !== "PixelData" || !pixel.items) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `${pixel.tag} must be native, but the transfer syntax ${syntaxLabel(container.transferSyntaxUid)} is ` +
        "encapsulated.",
    );
  }
  const encapsulated = splitFrames(
    pixel.items,
    meta.frames,
    encoding,
    container.transferSyntaxUid,
    container.extendedOffsets,
  );
  if (encoding === "uncompressed") {
    return { container, meta, encoding, encapsulated, frameCodecs: [], codecIds: new Set() };
  }
  const frameCodecs = encapsulated.frames.map((frame, i) => {
    const found = sniffEncoding(frame);
    const compatible = found === encoding || (encoding === "htj2k" && found === "j2k");
    if (!compatible) throw wrongSyntax(container.transferSyntaxUid, encoding, found, frame, i + 1);
    checkFrameSize(frame, found!, meta, i + 1);
    return codecForFrame(encoding, frame, i + 1, found === "htj2k");
  });
  return { container, meta, encoding, encapsulated, frameCodecs, codecIds: new Set(frameCodecs) };
}

/** The decoded image must fit the limit on decoded values (checked before anything is allocated). */
function checkDecodedSize(m: ImageMeta, limits: DecodeLimits): void {
  const values = m.frames * m.samplesPerPixel * m.rows * m.cols;
  const channels = m.decodedPhotometric === "RGB" ? 3 : 1;
  const decoded = Math.max(values, m.frames * channels * m.rows * m.cols);
  if (decoded <= limits.maxDecodedValues) return;
  throw new FatalDecodeError(
    "UNSUPPORTED_PIXEL_DATA",
    `The image is ${m.cols} x ${m.rows} pixels x ${m.frames} frame(s) x ${channels} channel(s): ${decoded} ` +
      `values, ${(decoded * 4 / 2 ** 30).toFixed(1)} GiB as float32, over the decoder's limit of ` +
      `${limits.maxDecodedValues} values. Split the frames with a DICOM toolkit (or raise limits.maxDecodedValues ` +
      "when decoding through the library).",
  );
}

function wrongSyntax(
  uid: string,
  expected: PixelEncoding,
  found: PixelEncoding | undefined,
  frame: Uint8Array,
  index: number,
): DicomDecodeError {
  const head = Array.from(frame.subarray(0, 4), (b) => b.toString(16).toUpperCase().padStart(2, "0")).join(
    " ",
  );
  const what = found === undefined
    ? `data that no codec recognises (it starts with ${head})`
    : `${found} data`;
  const truncatedHint = frame.length < 4 ? " (it is almost empty: the file may be truncated)" : "";
  return new DicomDecodeError(
    frame.length < 4 ? "TRUNCATED" : "INVALID_DICOM",
    `The transfer syntax is ${syntaxLabel(uid)} (${expected}), but frame ${index} holds ${what}` +
      `${truncatedHint}: the Transfer Syntax UID in the file meta is wrong or the pixel data is corrupt. Fix ` +
      "the file meta (e.g. `dcmodify`, `gdcmconv`) or ask the sender for a valid file.",
  );
}

/** Decodes the pixel data with the given (loaded) codecs, then the colour model. */
function finish(p: Prepared, codecs: ReadonlyMap<CodecId, FrameCodec>): DecodedDicom {
  const { meta } = p;
  const frames = decodeFrames(p, codecs);
  const colour = toRgb(p, frames);
  const channels = meta.decodedPhotometric === "RGB" ? 3 : 1;
  const decodedMeta = metaWith(meta, {
    codec: frames.codecName ?? describeCodec(p.encoding, meta.transferSyntaxUid, meta.bitsStored),
    ...(colour.conversion ? { colourConversion: colour.conversion } : {}),
  });
  return { meta: decodedMeta, data: colour.data, shape: [meta.frames, channels, meta.rows, meta.cols] };
}

/** Stored values of every frame, and whether each codec converted the colours itself. */
interface Frames {
  readonly data: Float32Array;
  readonly converted: ReadonlyArray<boolean>;
  readonly codecName?: string;
}

function decodeFrames(p: Prepared, codecs: ReadonlyMap<CodecId, FrameCodec>): Frames {
  const { meta, container } = p;
  const size = meta.samplesPerPixel * meta.rows * meta.cols;
  if (p.encoding === "native") {
    const data = nativeStoredValues(meta, container.pixel!, container.transferSyntaxUid === EXPLICIT_BE);
    return { data, converted: [] };
  }
  const data = new Float32Array(meta.frames * size);
  if (p.encoding === "uncompressed") {
    p.encapsulated!.frames.forEach((frame, i) => data.set(nativeFrameValues(meta, frame), i * size));
    return { data, converted: [] };
  }
  const names = new Set<string>();
  const converted = p.encapsulated!.frames.map((frame, i) => {
    const codec = codecs.get(p.frameCodecs[i])!;
    names.add(codec.name);
    const decoded = decodeFrame(p.frameCodecs[i], codec, frame, frameRequest(meta, i));
    storeFrame(data, i, decoded, meta);
    return decoded.convertedToRgb;
  });
  return { data, converted, codecName: [...names].join(" + ") };
}

/** What a codec is told of frame `i` (0-based). */
function frameRequest(meta: ImageMeta, i: number): FrameRequest {
  return {
    rows: meta.rows,
    cols: meta.cols,
    samples: meta.samplesPerPixel,
    bitsAllocated: meta.bitsAllocated,
    bitsStored: meta.bitsStored,
    signed: meta.pixelRepresentation === 1,
    photometric: meta.photometric,
    frame: i + 1,
  };
}

/** The colour model -> RGB, exactly once (by the codec, or here); says who converted. */
function toRgb(p: Prepared, f: Frames): { readonly data: Float32Array; readonly conversion?: string } {
  const { meta, container } = p;
  const plane = meta.rows * meta.cols;
  const photometric = meta.photometric;
  const { converted, codecName } = f;
  if (photometric === "PALETTE COLOR") {
    // the palette's attributes are among those read (keywords.ts): the whole data set is not needed
    const lut = parsePalette(container.dataset, container.transferSyntaxUid === EXPLICIT_BE);
    const data = applyPalette(f.data, meta.frames, plane, lut);
    return {
      data,
      conversion:
        `PALETTE COLOR -> RGB through the ${lut.bits}-bit palette${lut.segmented ? " (segmented)" : ""} ` +
        "(decode)",
    };
  }
  if (photometric === "YBR_FULL" || photometric === "YBR_FULL_422") {
    for (let fr = 0; fr < meta.frames; fr++) {
      if (!converted[fr]) {
        ybrFullToRgb(f.data.subarray(fr * 3 * plane, (fr + 1) * 3 * plane), 1, plane, meta.bitsStored);
      }
    }
  }
  const conversion = colourConversion(photometric, converted, codecName ?? "");
  return conversion ? { data: f.data, conversion } : { data: f.data };
}

/**
 * What `meta.colourConversion` says of a colour image whose frames the codec did or did not turn into RGB
 * (`converted`, per frame): YBR_FULL(_422) frames it did not are converted here (by {@link toRgb}).
 * Undefined where there was nothing to convert. Not for PALETTE COLOR.
 */
function colourConversion(
  photometric: string,
  converted: ReadonlyArray<boolean>,
  codecName: string,
): string | undefined {
  if (photometric === "YBR_FULL" || photometric === "YBR_FULL_422") {
    const byCodec = converted.filter(Boolean).length;
    return byCodec === converted.length && byCodec > 0
      ? `${photometric} -> RGB by ${codecName}`
      : `${photometric} -> RGB (decode${byCodec > 0 ? `; ${byCodec} frame(s) by ${codecName}` : ""})`;
  }
  if (photometric === "RGB" && converted.some(Boolean)) {
    // Mislabelled files seen in the wild: RGB in the data set, YCbCr (or RCT/ICT) in the codestream.
    return `RGB in the data set, but the codestream is YCbCr / RCT / ICT: converted to RGB by ${codecName}`;
  }
  if (photometric === "YBR_RCT" || photometric === "YBR_ICT") {
    return converted.every(Boolean)
      ? `${photometric} -> RGB by ${codecName} (inverse ${photometric.slice(4)})`
      : `${photometric}: the codestream has no multi-component transform; its samples are taken as RGB`;
  }
  return undefined;
}

/**
 * What a codec's failure says, for people: a codec's own message, else what kind of failure it was (the
 * runtime's words - "memory access out of bounds", "Cannot read properties of undefined" - say nothing about
 * the file).
 */
function codecFailure(e: unknown): string {
  // Embind codecs throw C++ exceptions as bare pointers (numbers).
  if (typeof e === "number") return "the codec reported an error";
  if (typeof WebAssembly !== "undefined" && e instanceof WebAssembly.RuntimeError) {
    return "the codec stopped on data it could not follow (a WebAssembly trap)";
  }
  const internal = e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError;
  return internal ? "the codec failed on data it could not follow" : errorText(e);
}

/** One frame through its codec, with every failure turned into a coded error. */
function decodeFrame(id: CodecId, codec: FrameCodec, frame: Uint8Array, request: FrameRequest): DecodedFrame {
  try {
    return codec.decode(frame, request);
  } catch (e) {
    if (e instanceof DicomDecodeError) throw e;
    // Anything else may have left the codec's instance broken: the fuzz campaign found CharLS (either build),
    // kept through a few hundred such failures, failing every later JPEG-LS frame, valid ones too
    // (tests/fixtures/codecs). The next frame gets a fresh instance.
    resetCodec(id);
    const what = `${codec.name} could not decode frame ${request.frame} (${codecFailure(e)})`;
    if (!endsWithEndMarker(frame)) {
      throw new DicomDecodeError(
        "TRUNCATED",
        `${what} and the frame has no end-of-image marker: the compressed data was cut short; fetch the ` +
          "complete file again.",
      );
    }
    throw new DicomDecodeError("INVALID_DICOM", `${what}: the compressed data is corrupt.`);
  }
}
