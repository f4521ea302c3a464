/**
 * 8-bit DCT JPEG (baseline, extended, progressive) with libjpeg-turbo's WASM build
 * (`@cornerstonejs/codec-libjpeg-turbo-8bit`, TurboJPEG API).
 *
 * TurboJPEG decodes with libjpeg's defaults (integer "islow" IDCT, fancy upsampling) to gray or RGB: a
 * 3-component frame that is YCbCr (see `isYcbcr` in jpeg_markers.ts: the codestream's JFIF / Adobe markers
 * and component ids, else the PhotometricInterpretation) is converted to RGB by the codec, which
 * {@link DecodedFrame.convertedToRgb} reports so that the decoder does not convert it again; an RGB frame
 * whose codestream does not say so gets an Adobe transform-0 marker first, so that libjpeg leaves it alone.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import { isYcbcr, markedForLibjpeg, readJpegHeader } from "./jpeg_markers.ts";
import type { FrameCodec } from "./types.ts";
import {
  copyOut,
  loadWasmCodec,
  type WasmCodecSpec,
  type WasmDecoder,
  type WasmModule,
  withDecoder,
} from "./wasm.ts";

const SPEC: WasmCodecSpec = {
  packageName: "@cornerstonejs/codec-libjpeg-turbo-8bit",
  wasm: {
    load: () => import("@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs"),
    file: () => import.meta.resolve("@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasm"),
  },
  load: () => import("@cornerstonejs/codec-libjpeg-turbo-8bit"),
  className: "JPEGDecoder",
};

/** Loads the WASM module (once per call; the registry caches the codec). */
export async function loadLibjpegTurbo(prefer?: WasmModule["build"]): Promise<FrameCodec> {
  const { module, Decoder } = await loadWasmCodec<WasmDecoder>(SPEC, prefer);
  return {
    name: `libjpeg-turbo 8-bit (${module.build}, ${SPEC.packageName})`,
    decode(data, request) {
      const header = readJpegHeader(data, request.frame);
      if (header.precision !== 8 || header.components.length === 2 || header.components.length > 3) {
        throw new DicomDecodeError(
          "UNSUPPORTED_PIXEL_DATA",
          `Frame ${request.frame}: libjpeg-turbo (8-bit) cannot decode a ${header.precision}-bit JPEG with ` +
            `${header.components.length} components.`,
        );
      }
      module.drain();
      const ycc = isYcbcr(header, request.photometric);
      return withDecoder(Decoder, markedForLibjpeg(data, header, request.photometric), (d) => {
        d.decode();
        const info = d.getFrameInfo();
        const components = header.components.length === 1 ? 1 : 3;
        return {
          samples: copyOut(d.getDecodedBuffer(), 8, false),
          rows: info.height,
          cols: info.width,
          components,
          interleaved: true,
          convertedToRgb: components === 3 && ycc,
        };
      });
    },
  };
}
