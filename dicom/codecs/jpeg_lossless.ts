/**
 * JPEG Lossless, process 14 (1.2.840.10008.1.2.4.57 and .70, any predictor) with the pure-JavaScript
 * `jpeg-lossless-decoder-js`.
 *
 * The library returns 8-bit samples (pixel-interleaved for 3 components) or 16-bit words (1 component).
 * It does not always notice data that ends early, so a frame must decode to exactly rows x columns samples
 * and end with EOI; otherwise it is TRUNCATED. Colour JPEG lossless is never colour-transformed by the
 * codec.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import { endsWithEndMarker, readJpegHeader } from "./jpeg_markers.ts";
import type { FrameCodec } from "./types.ts";

const PACKAGE = "jpeg-lossless-decoder-js";

/** The parts of the library's Decoder used here. */
interface LosslessDecoder {
  decode(buffer: ArrayBuffer, offset: number, length: number): Uint8Array | Uint16Array | null;
  xLoc: number;
  yLoc: number;
}

/** Loads the module (the registry caches the codec). */
export async function loadJpegLossless(): Promise<FrameCodec> {
  let Decoder: new () => LosslessDecoder;
  try {
    const mod = await import("jpeg-lossless-decoder-js");
    Decoder = (mod as unknown as { Decoder: new () => LosslessDecoder }).Decoder;
    if (typeof Decoder !== "function") throw new Error("no Decoder export");
  } catch (e) {
    throw new DicomDecodeError(
      "CODEC_UNAVAILABLE",
      `The codec package ${PACKAGE} could not be loaded (${e instanceof Error ? e.message : e}). It is a ` +
        "dependency in package.json: reinstall the dependencies.",
    );
  }
  return {
    name: `${PACKAGE} (pure JavaScript)`,
    decode(data, request) {
      const header = readJpegHeader(data, request.frame);
      const components = header.components.length;
      if (components !== 1 && !(components === 3 && header.precision <= 8)) {
        throw new DicomDecodeError(
          "UNSUPPORTED_PIXEL_DATA",
          `Frame ${request.frame}: ${PACKAGE} cannot decode JPEG lossless data with ${components} components ` +
            `of ${header.precision} bits.`,
        );
      }
      const decoder = new Decoder();
      const buffer = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength &&
          data.buffer instanceof ArrayBuffer
        ? data.buffer
        : new Uint8Array(data).buffer; // a copy: Node/Bun Buffer#slice() is a view
      const out = decoder.decode(buffer, 0, data.length);
      const expected = header.rows * header.cols * components;
      if (out === null || out.length < expected || !endsWithEndMarker(data)) {
        throw new DicomDecodeError(
          "TRUNCATED",
          `The JPEG lossless data of frame ${request.frame} ends before the whole image was decoded (no EOI ` +
            "marker): the frame was cut short; fetch the complete file again.",
        );
      }
      return {
        samples: out.length === expected ? out : out.subarray(0, expected),
        rows: header.rows,
        cols: header.cols,
        components,
        interleaved: true,
        convertedToRgb: false,
      };
    },
  };
}
