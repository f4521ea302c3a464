/**
 * The JPEG 2000 main header facts the decoder needs (ISO/IEC 15444-1 Annex A): image and component sizes,
 * precision and sign (SIZ), the multi-component transform flag (COD), and whether the codestream ends with
 * its EOC marker.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import { endsWithEndMarker } from "./jpeg_markers.ts";

/** Main header facts of a JPEG 2000 (or HTJ2K) codestream. */
export interface J2kHeader {
  readonly cols: number;
  readonly rows: number;
  readonly components: number;
  /** Bit depth of component 0. */
  readonly precision: number;
  /** Component 0 is signed. */
  readonly signed: boolean;
  /** Some component is subsampled (XRsiz or YRsiz > 1). */
  readonly subsampled: boolean;
  /** COD: the multi-component transform (RCT when reversible, ICT otherwise) is used. */
  readonly mct: boolean;
  /** COD: the wavelet is the reversible 5/3 (lossless) rather than the irreversible 9/7. */
  readonly reversible: boolean;
}

/** Offset of the codestream (SOC marker) in `d`: 0 for a raw codestream, inside the jp2c box for JP2. */
export function codestreamStart(d: Uint8Array): number {
  if (d.length >= 2 && d[0] === 0xff && d[1] === 0x4f) return 0;
  // JP2: boxes of [length(4), type(4)], the codestream box is "jp2c".
  let p = 0;
  while (p + 8 <= d.length) {
    const length = ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;
    const type = String.fromCharCode(d[p + 4], d[p + 5], d[p + 6], d[p + 7]);
    if (type === "jp2c") return p + 8;
    if (length < 8) break;
    p += length;
  }
  return -1;
}

/**
 * Reads SIZ and COD.
 *
 * @throws DicomDecodeError INVALID_DICOM when `d` is not a JPEG 2000 codestream, TRUNCATED when it ends
 *   inside the main header
 */
export function readJ2kHeader(d: Uint8Array, frame: number): J2kHeader {
  const start = codestreamStart(d);
  if (start < 0 || d[start] !== 0xff || d[start + 1] !== 0x4f) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `The JPEG 2000 data of frame ${frame} does not start with an SOC marker (FF4F) or a JP2 signature: it ` +
        "is not a JPEG 2000 codestream (is the transfer syntax in the file meta right?).",
    );
  }
  let p = start + 2;
  let siz: Omit<J2kHeader, "mct" | "reversible"> | undefined;
  while (p + 4 <= d.length && d[p] === 0xff) {
    const marker = d[p + 1];
    const length = (d[p + 2] << 8) | d[p + 3];
    const body = p + 4;
    if (p + 2 + length > d.length) break;
    if (marker === 0x51) {
      const u32 = (q: number) => ((d[q] << 24) | (d[q + 1] << 16) | (d[q + 2] << 8) | d[q + 3]) >>> 0;
      const xsiz = u32(body + 2);
      const ysiz = u32(body + 6);
      const x0 = u32(body + 10);
      const y0 = u32(body + 14);
      const n = (d[body + 34] << 8) | d[body + 35];
      let subsampled = false;
      for (let c = 0; c < n; c++) {
        if (d[body + 37 + 3 * c] > 1 || d[body + 38 + 3 * c] > 1) subsampled = true;
      }
      const ssiz = d[body + 36];
      siz = {
        cols: xsiz - x0,
        rows: ysiz - y0,
        components: n,
        precision: (ssiz & 0x7f) + 1,
        signed: (ssiz & 0x80) !== 0,
        subsampled,
      };
    } else if (marker === 0x52) {
      if (!siz) break;
      // Scod(1) progression(1) layers(2) MCT(1) decompositions(1) xcb(1) ycb(1) style(1) transform(1)
      return { ...siz, mct: d[body + 4] === 1, reversible: d[body + 9] === 1 };
    } else if (marker === 0x90 || marker === 0x93) {
      break;
    }
    p += 2 + length;
  }
  if (p + 4 > d.length || (siz === undefined && p >= d.length - 4)) {
    throw new DicomDecodeError(
      "TRUNCATED",
      `The JPEG 2000 data of frame ${frame} ends inside its main header: the frame was cut short; fetch the ` +
        "complete file again.",
    );
  }
  throw new DicomDecodeError(
    "INVALID_DICOM",
    `The JPEG 2000 main header of frame ${frame} is corrupt (no SIZ or COD marker segment).`,
  );
}

/**
 * The main header of a codestream that is complete: one without EOC is TRUNCATED (decoders would return a
 * silently degraded image).
 *
 * @throws DicomDecodeError as {@link readJ2kHeader}, and TRUNCATED without EOC
 */
export function readCompleteJ2kHeader(d: Uint8Array, frame: number): J2kHeader {
  const header = readJ2kHeader(d, frame);
  if (!endsWithEndMarker(d)) throw truncatedJ2k(frame);
  return header;
}

/** A JPEG 2000 codestream without EOC: decoders return a silently degraded image, so it is an error. */
function truncatedJ2k(frame: number): DicomDecodeError {
  return new DicomDecodeError(
    "TRUNCATED",
    `The JPEG 2000 data of frame ${frame} does not end with an EOC marker (FFD9): the codestream was cut ` +
      "short (a decoder would return a degraded image). Fetch the complete file again.",
  );
}
