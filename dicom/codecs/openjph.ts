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
import { endsWithEoc, readJ2kHeader } from "./j2k_markers.ts";
import { truncatedJ2k } from "./openjpeg.ts";
import type { FrameCodec } from "./types.ts";
import { copyOut, loadWasmModule, wasmClass, type WasmDecoder, withDecoder } from "./wasm.ts";

const PACKAGE = "@cornerstonejs/codec-openjph";

interface HtJ2kDecoder extends WasmDecoder {
  getLastErrorMessage?(): string;
}

/** Loads the WASM module (the registry caches the codec). */
export async function loadOpenJph(): Promise<FrameCodec> {
  const module = await loadWasmModule(() => import("@cornerstonejs/codec-openjph"), PACKAGE);
  const Decoder = wasmClass<HtJ2kDecoder>(module, "HTJ2KDecoder", PACKAGE);
  return {
    name: `OpenJPH (WASM, ${PACKAGE})`,
    decode(data, request) {
      const header = readJ2kHeader(data, request.frame);
      if (!endsWithEoc(data)) throw truncatedJ2k(request.frame);
      if (header.subsampled) {
        throw new DicomDecodeError(
          "UNSUPPORTED_PIXEL_DATA",
          `Frame ${request.frame}: HTJ2K data with subsampled components cannot be returned by the OpenJPH ` +
            "WASM wrapper.",
        );
      }
      module.drain();
      return withDecoder(Decoder, data, (d) => {
        d.decode();
        const info = d.getFrameInfo();
        const bytes = info.bitsPerSample > 8 ? 2 : 1;
        const out = d.getDecodedBuffer();
        const error = (d.getLastErrorMessage?.() ?? "").trim();
        const log = module.drain().filter((l) => /error/i.test(l));
        const expected = header.cols * header.rows * header.components * bytes;
        if (error !== "" || log.length > 0 || out.length !== expected) {
          const why = error || log.join(" ").trim() || "no image came out";
          throw new DicomDecodeError(
            "INVALID_DICOM",
            `OpenJPH could not decode frame ${request.frame}: ${why}. The HTJ2K data is corrupt.`,
          );
        }
        return {
          samples: copyOut(out, info.bitsPerSample, info.isSigned === true),
          rows: header.rows,
          cols: header.cols,
          components: header.components,
          interleaved: true,
          convertedToRgb: header.components === 3 && (info.isUsingColorTransform ?? header.mct),
        };
      });
    },
  };
}
