/**
 * High-Throughput JPEG 2000 (1.2.840.10008.1.2.4.201 / .202 / .203) with OpenJPH's WASM build
 * (`@cornerstonejs/codec-openjph`).
 *
 * OpenJPH applies the inverse colour transform (RCT/ICT) itself and returns sample-interleaved data;
 * failures are reported through `getLastErrorMessage()` and the captured output rather than exceptions.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import { readCompleteJ2kHeader } from "./j2k_markers.ts";
import { decodeJ2k } from "./openjpeg.ts";
import type { FrameCodec } from "./types.ts";
import { loadWasmCodec, type WasmCodecSpec, type WasmDecoder } from "./wasm.ts";

const SPEC: WasmCodecSpec = {
  packageName: "@cornerstonejs/codec-openjph",
  load: () => import("@cornerstonejs/codec-openjph"),
  mainBuild: "WASM",
  className: "HTJ2KDecoder",
};

interface HtJ2kDecoder extends WasmDecoder {
  getLastErrorMessage?(): string;
}

/** Loads the WASM module (the registry caches the codec). */
export async function loadOpenJph(): Promise<FrameCodec> {
  const { module, Decoder } = await loadWasmCodec<HtJ2kDecoder>(SPEC);
  return {
    name: `OpenJPH (${module.build}, ${SPEC.packageName})`,
    decode(data, request) {
      const header = readCompleteJ2kHeader(data, request.frame);
      if (header.subsampled) {
        throw new DicomDecodeError(
          "UNSUPPORTED_PIXEL_DATA",
          `Frame ${request.frame}: HTJ2K data with subsampled components cannot be returned by the OpenJPH ` +
            "WASM wrapper.",
        );
      }
      return decodeJ2k(module, Decoder, data, header, {
        codec: "OpenJPH",
        format: "HTJ2K",
        frame: request.frame,
        lastError: (d) => d.getLastErrorMessage?.() ?? "",
        convertedToRgb: (info) => header.components === 3 && (info.isUsingColorTransform ?? header.mct),
      });
    },
  };
}
