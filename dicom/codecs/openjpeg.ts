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
import { type J2kHeader, readCompleteJ2kHeader } from "./j2k_markers.ts";
import type { DecodedFrame, FrameCodec } from "./types.ts";
import {
  copyOut,
  loadWasmCodec,
  type WasmCodecSpec,
  type WasmDecoder,
  type WasmFrameInfo,
  type WasmModule,
  withDecoder,
} from "./wasm.ts";

const SPEC: WasmCodecSpec = {
  packageName: "@cornerstonejs/codec-openjpeg",
  wasm: {
    load: () => import("@cornerstonejs/codec-openjpeg/decodewasmjs"),
    file: () => import.meta.resolve("@cornerstonejs/codec-openjpeg/decodewasm"),
  },
  load: () => import("@cornerstonejs/codec-openjpeg"),
  className: "J2KDecoder",
};

/** Loads the WASM module (the registry caches the codec). */
export async function loadOpenJpeg(prefer?: WasmModule["build"]): Promise<FrameCodec> {
  const { module, Decoder } = await loadWasmCodec<WasmDecoder>(SPEC, prefer);
  return {
    name: `OpenJPEG (${module.build}, ${SPEC.packageName})`,
    decode(data, request) {
      const header = readCompleteJ2kHeader(data, request.frame);
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
      return decodeJ2k(module, Decoder, data, header, {
        codec: "OpenJPEG",
        format: "JPEG 2000",
        frame: request.frame,
        components: (info) => info.componentCount,
        convertedToRgb: () => header.components === 3 && (header.mct || header.subsampled),
      });
    },
  };
}

/** How one cornerstone J2K wrapper reports. */
export interface J2kWrapper<D> {
  readonly codec: string;
  readonly format: string;
  readonly frame: number;
  /** The wrapper's own error text, when it has one. */
  readonly lastError?: (decoder: D) => string;
  /** Components the wrapper says it decoded (checked against the header), when it says. */
  readonly components?: (info: WasmFrameInfo) => number;
  readonly convertedToRgb: (info: WasmFrameInfo) => boolean;
}

/**
 * One frame through a cornerstone JPEG 2000 / HTJ2K WASM decoder. The wrappers do not throw on failure
 * (they print and return), so failure is read from their captured output, their error text and the size of
 * what they return.
 *
 * @throws DicomDecodeError INVALID_DICOM when no image (or not the whole image) came out
 */
export function decodeJ2k<D extends WasmDecoder>(
  module: WasmModule,
  Decoder: new () => D,
  data: Uint8Array,
  header: J2kHeader,
  w: J2kWrapper<D>,
): DecodedFrame {
  module.drain();
  return withDecoder(Decoder, data, (d) => {
    d.decode();
    const info = d.getFrameInfo();
    const bytes = info.bitsPerSample > 8 ? 2 : 1;
    const out = d.getDecodedBuffer();
    const error = (w.lastError?.(d) ?? "").trim();
    const log = module.drain().filter((l) => /error/i.test(l));
    const expected = header.cols * header.rows * header.components * bytes;
    const components = w.components?.(info) ?? header.components;
    if (error !== "" || log.length > 0 || components !== header.components || out.length !== expected) {
      const why = error || log.join(" ").trim() || "no image came out";
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `${w.codec} could not decode frame ${w.frame}: ${why}. The ${w.format} data is corrupt.`,
      );
    }
    return {
      samples: copyOut(out, info.bitsPerSample, info.isSigned === true),
      rows: header.rows,
      cols: header.cols,
      components: header.components,
      interleaved: true,
      convertedToRgb: w.convertedToRgb(info),
    };
  });
}
