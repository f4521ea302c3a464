/**
 * Which codec decodes which frame, and lazy, cached codec loading.
 *
 * Built-in codecs (RLE, the DCT and lossless JPEG decoders) are always available. The others are loaded on first
 * use of a syntax that needs them (a dynamic `import()` plus, for the WASM ones, instantiation) and cached
 * for the life of the process; a load that fails is not cached, so a later call retries.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import type { PixelEncoding } from "../syntaxes.ts";
import { loadCharls } from "./charls.ts";
import { jpegDctCodec } from "./jpeg_dct.ts";
import { jpegLosslessCodec } from "./jpeg_lossless.ts";
import { readJpegHeader, sofName } from "./jpeg_markers.ts";
import { loadLibjpegTurbo } from "./libjpeg_turbo.ts";
import { loadOpenJpeg } from "./openjpeg.ts";
import { loadOpenJph } from "./openjph.ts";
import { rleCodec } from "./rle.ts";
import type { FrameCodec } from "./types.ts";

/** The codecs this decoder can use. */
export type CodecId =
  | "rle"
  | "jpeg-dct"
  | "libjpeg-turbo"
  | "jpeg-lossless"
  | "charls"
  | "openjpeg"
  | "openjph";

/** Every codec id. */
export const CODEC_IDS: ReadonlyArray<CodecId> = [
  "rle",
  "jpeg-dct",
  "libjpeg-turbo",
  "jpeg-lossless",
  "charls",
  "openjpeg",
  "openjph",
];

/** Short descriptions, for `dcmflow inspect` before anything is loaded. */
export const CODEC_DESCRIPTIONS: Readonly<Record<CodecId, string>> = {
  rle: "built-in RLE Lossless decoder (pure TypeScript)",
  "jpeg-dct": "built-in 8/12-bit sequential DCT JPEG decoder (pure TypeScript, IJG-exact)",
  "libjpeg-turbo": "libjpeg-turbo 8-bit (WASM, @cornerstonejs/codec-libjpeg-turbo-8bit)",
  "jpeg-lossless":
    "built-in JPEG lossless decoder (process 14; TypeScript, one-component scans in WebAssembly)",
  charls: "CharLS (WASM, @cornerstonejs/codec-charls)",
  openjpeg: "OpenJPEG (WASM, @cornerstonejs/codec-openjpeg)",
  openjph: "OpenJPH (WASM, @cornerstonejs/codec-openjph)",
};

const LOADERS: Readonly<Record<CodecId, () => Promise<FrameCodec>>> = {
  rle: () => Promise.resolve(rleCodec),
  "jpeg-dct": () => Promise.resolve(jpegDctCodec),
  "libjpeg-turbo": loadLibjpegTurbo,
  "jpeg-lossless": () => Promise.resolve(jpegLosslessCodec),
  charls: loadCharls,
  openjpeg: loadOpenJpeg,
  openjph: loadOpenJph,
};

/** The codecs written here: always loaded, and keeping no state between frames. */
const BUILT_IN: ReadonlyArray<readonly [CodecId, FrameCodec]> = [
  ["rle", rleCodec],
  ["jpeg-dct", jpegDctCodec],
  ["jpeg-lossless", jpegLosslessCodec],
];

const loaded = new Map<CodecId, FrameCodec>(BUILT_IN);
const loading = new Map<CodecId, Promise<FrameCodec>>();

/**
 * The codec, loading it on first use (concurrent callers share one load).
 *
 * @throws DicomDecodeError CODEC_UNAVAILABLE when it cannot be loaded
 */
export function loadCodec(id: CodecId): Promise<FrameCodec> {
  const ready = loaded.get(id);
  if (ready) return Promise.resolve(ready);
  let pending = loading.get(id);
  if (!pending) {
    pending = LOADERS[id]().then(
      (codec) => {
        loaded.set(id, codec);
        loading.delete(id);
        return codec;
      },
      (e) => {
        loading.delete(id);
        throw e;
      },
    );
    loading.set(id, pending);
  }
  return pending;
}

/**
 * Replaces a loaded codec with a fresh instance, after it failed on a frame other than with a coded error of
 * its own (a WebAssembly trap, a C++ exception thrown through Embind, a JavaScript error inside it): such a
 * failure can leave the instance's memory or stack broken for every later frame, valid ones included (see
 * `decodeFrame`). The new instance loads at once, in the background: {@link loadCodec} callers wait for it,
 * and the synchronous decoder uses it once it is there. The built-in codecs keep no state between frames.
 */
export function resetCodec(id: CodecId): void {
  if (BUILT_IN.some(([builtIn]) => builtIn === id)) return;
  loaded.delete(id);
  loadCodec(id).catch(() => {}); // a load that fails is not kept: the next decode tries again and reports it
}

/** Makes `codec` the one used for `id` (tests: the same frames through another build of a codec). */
export function useCodec(id: CodecId, codec: FrameCodec): void {
  loaded.set(id, codec);
}

/** The codec if it is loaded already (the synchronous decoder can use only those). */
export function loadedCodec(id: CodecId): FrameCodec | undefined {
  return loaded.get(id);
}

/**
 * The codec for one compressed frame of a syntax family. JPEG frames are routed by their SOF marker:
 * lossless to the built-in lossless decoder, 8-bit DCT to libjpeg-turbo, 12-bit DCT to the built-in DCT decoder.
 * A JPEG 2000 Part 1 codestream in an HTJ2K syntax goes to OpenJPEG (HTJ2K decoders read Part 1 too).
 *
 * @throws DicomDecodeError UNSUPPORTED_PIXEL_DATA for JPEG processes no codec here implements
 */
export function codecForFrame(
  encoding: Exclude<PixelEncoding, "native" | "uncompressed">,
  frame: Uint8Array,
  index: number,
  htj2kStream: boolean,
): CodecId {
  switch (encoding) {
    case "rle":
      return "rle";
    case "jpegls":
      return "charls";
    case "j2k":
      return "openjpeg";
    case "htj2k":
      return htj2kStream ? "openjph" : "openjpeg";
    case "jpeg": {
      const h = readJpegHeader(frame, index);
      if (h.sof === 0xc3) return "jpeg-lossless";
      if ((h.sof === 0xc0 || h.sof === 0xc1) && h.precision === 12) return "jpeg-dct";
      if ((h.sof === 0xc0 || h.sof === 0xc1 || h.sof === 0xc2) && h.precision === 8) return "libjpeg-turbo";
      const process = `${h.precision}-bit JPEG ${sofName(h.sof)}`;
      throw new DicomDecodeError(
        "UNSUPPORTED_PIXEL_DATA",
        `Frame ${index} is ${process}, which no codec here decodes (supported: 8/12-bit baseline and ` +
          "extended sequential DCT, 8-bit progressive, lossless). Decompress it with `dcmdjpeg in.dcm " +
          "out.dcm` (DCMTK) first.",
      );
    }
  }
}

/** The codec description for a syntax family, as far as the header tells (JPEG: by BitsStored). */
export function describeCodec(
  encoding: PixelEncoding,
  transferSyntaxUid: string,
  bitsStored: number,
): string {
  switch (encoding) {
    case "native":
      return "none (uncompressed)";
    case "uncompressed":
      return "none (encapsulated uncompressed frames)";
    case "rle":
      return CODEC_DESCRIPTIONS.rle;
    case "jpegls":
      return CODEC_DESCRIPTIONS.charls;
    case "j2k":
      return CODEC_DESCRIPTIONS.openjpeg;
    case "htj2k":
      return CODEC_DESCRIPTIONS.openjph;
    case "jpeg":
      if (transferSyntaxUid === "1.2.840.10008.1.2.4.57" || transferSyntaxUid === "1.2.840.10008.1.2.4.70") {
        return CODEC_DESCRIPTIONS["jpeg-lossless"];
      }
      return bitsStored > 8 ? CODEC_DESCRIPTIONS["jpeg-dct"] : CODEC_DESCRIPTIONS["libjpeg-turbo"];
  }
}
