/**
 * JPEG-LS lossless and near-lossless (1.2.840.10008.1.2.4.80 / .81) with CharLS's WASM build
 * (`@cornerstonejs/codec-charls`).
 *
 * CharLS outputs 8-bit samples as bytes and 9..16-bit samples as little-endian 16-bit words, planar for
 * interleave mode "none" and sample-interleaved for "line" and "sample". JPEG-LS has no sign: signed pixel
 * data is coded as its two's complement bit pattern, which the decoder sign-extends from BitsStored.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import { endsWithEndMarker } from "./jpeg_markers.ts";
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
  packageName: "@cornerstonejs/codec-charls",
  wasm: {
    load: () => import("@cornerstonejs/codec-charls/decodewasmjs"),
    file: () => import.meta.resolve("@cornerstonejs/codec-charls/decodewasm"),
  },
  load: () => import("@cornerstonejs/codec-charls"),
  className: "JpegLSDecoder",
};

interface JpegLsDecoder extends WasmDecoder {
  getInterleaveMode(): number;
  getNearLossless(): number;
}

/** Loads the WASM module (the registry caches the codec). */
export async function loadCharls(prefer?: WasmModule["build"]): Promise<FrameCodec> {
  const { module, Decoder } = await loadWasmCodec<JpegLsDecoder>(SPEC, prefer);
  return {
    name: `CharLS (${module.build}, ${SPEC.packageName})`,
    decode(data, request) {
      // CharLS can spend seconds on a corrupt stream that was also cut short: refuse those first.
      if (!endsWithEndMarker(data)) {
        throw new DicomDecodeError(
          "TRUNCATED",
          `The JPEG-LS data of frame ${request.frame} does not end with an EOI marker (FFD9): the codestream ` +
            "was cut short. Fetch the complete file again.",
        );
      }
      module.drain();
      return withDecoder(Decoder, data, (d) => {
        d.decode();
        const info = d.getFrameInfo();
        return {
          samples: copyOut(d.getDecodedBuffer(), info.bitsPerSample, false),
          rows: info.height,
          cols: info.width,
          components: info.componentCount,
          interleaved: info.componentCount > 1 && d.getInterleaveMode() !== 0,
          convertedToRgb: false,
        };
      });
    },
  };
}
