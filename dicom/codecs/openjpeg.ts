/**
 * JPEG 2000 lossless and lossy (1.2.840.10008.1.2.4.90 / .91) with OpenJPEG's WASM build
 * (`@cornerstonejs/codec-openjpeg`).
 *
 * OpenJPEG applies the inverse multi-component transform (RCT for YBR_RCT, ICT for YBR_ICT) itself, and the
 * cornerstone wrapper converts subsampled YCC to RGB; both are reported as `convertedToRgb`. The wrapper
 * does not throw on failure (it prints and returns), so failures are detected from its captured output and
 * the size of what it returns. Its output limits: 3-component images of more than 8 bits and signed images
 * of 8 bits or fewer are not returned, and are refused here with UNSUPPORTED_PIXEL_DATA rather than
 * decoded wrongly.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import { endsWithEoc, readJ2kHeader } from "./j2k_markers.ts";
import type { FrameCodec } from "./types.ts";
import { copyOut, loadWasmModule, wasmClass, type WasmDecoder, withDecoder } from "./wasm.ts";

const PACKAGE = "@cornerstonejs/codec-openjpeg";

/** Loads the WASM module (the registry caches the codec). */
export async function loadOpenJpeg(): Promise<FrameCodec> {
  const module = await loadWasmModule(() => import("@cornerstonejs/codec-openjpeg"), PACKAGE);
  const Decoder = wasmClass<WasmDecoder>(module, "J2KDecoder", PACKAGE);
  return {
    name: `OpenJPEG (WASM, ${PACKAGE})`,
    decode(data, request) {
      const header = readJ2kHeader(data, request.frame);
      if (!endsWithEoc(data)) throw truncatedJ2k(request.frame);
      const unsupported = header.components > 1 && header.precision > 8
        ? `${header.components} components of ${header.precision} bits`
        : header.signed && header.precision <= 8
        ? `signed ${header.precision}-bit samples`
        : header.components !== 1 && header.components !== 3
        ? `${header.components} components`
        : undefined;
      if (unsupported) {
        throw new DicomDecodeError(
          "UNSUPPORTED_PIXEL_DATA",
          `Frame ${request.frame}: the OpenJPEG WASM wrapper cannot return JPEG 2000 data with ${unsupported}. ` +
            "Decompress the file with `gdcmconv --raw in.dcm out.dcm` (GDCM) first.",
        );
      }
      module.drain();
      return withDecoder(Decoder, data, (d) => {
        d.decode();
        const info = d.getFrameInfo();
        const bytes = info.bitsPerSample > 8 ? 2 : 1;
        const out = d.getDecodedBuffer();
        const log = module.drain().filter((l) => /error/i.test(l));
        const expected = header.cols * header.rows * header.components * bytes;
        if (log.length > 0 || info.componentCount !== header.components || out.length !== expected) {
          const why = log.join(" ").trim() || "no image came out";
          throw new DicomDecodeError(
            "INVALID_DICOM",
            `OpenJPEG could not decode frame ${request.frame}: ${why}. The JPEG 2000 data is corrupt.`,
          );
        }
        return {
          samples: copyOut(out, info.bitsPerSample, info.isSigned === true),
          rows: header.rows,
          cols: header.cols,
          components: header.components,
          interleaved: true,
          convertedToRgb: header.components === 3 && (header.mct || header.subsampled),
        };
      });
    },
  };
}

/** A JPEG 2000 codestream without EOC: decoders return a silently degraded image, so it is an error. */
export function truncatedJ2k(frame: number): DicomDecodeError {
  return new DicomDecodeError(
    "TRUNCATED",
    `The JPEG 2000 data of frame ${frame} does not end with an EOC marker (FFD9): the codestream was cut ` +
      "short (a decoder would return a degraded image). Fetch the complete file again.",
  );
}
