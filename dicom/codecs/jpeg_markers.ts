/**
 * The JPEG marker segments that choose the decoder and the colour model (ITU-T T.81, JFIF, Adobe APP14).
 *
 * Reads from SOI up to the first SOS: the SOF (process, precision, size, components and sampling factors),
 * and the JFIF / Adobe markers and component identifiers from which libjpeg guesses whether three
 * components are YCbCr (converted to RGB on output) or RGB.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";

/** One frame component: identifier, sampling factors and quantization table. */
export interface JpegComponent {
  readonly id: number;
  readonly h: number;
  readonly v: number;
  readonly tq: number;
}

/** Header facts of a JPEG stream. */
export interface JpegHeader {
  /** SOF marker byte: 0xC0 baseline, 0xC1 extended, 0xC2 progressive, 0xC3 lossless, ... */
  readonly sof: number;
  readonly precision: number;
  readonly rows: number;
  readonly cols: number;
  readonly components: ReadonlyArray<JpegComponent>;
  readonly jfif: boolean;
  /** Adobe APP14 transform flag (0 RGB/CMYK, 1 YCbCr, 2 YCCK), when the marker is present. */
  readonly adobeTransform?: number;
}

/** Human-readable JPEG process of an SOF marker. */
export function sofName(sof: number): string {
  const names: Record<number, string> = {
    0xc0: "baseline DCT (SOF0)",
    0xc1: "extended sequential DCT (SOF1)",
    0xc2: "progressive DCT (SOF2)",
    0xc3: "lossless (SOF3)",
    0xc5: "differential sequential DCT (SOF5, hierarchical)",
    0xc6: "differential progressive DCT (SOF6, hierarchical)",
    0xc7: "differential lossless (SOF7, hierarchical)",
    0xc9: "extended sequential DCT, arithmetic coding (SOF9)",
    0xca: "progressive DCT, arithmetic coding (SOF10)",
    0xcb: "lossless, arithmetic coding (SOF11)",
    0xcd: "differential sequential DCT, arithmetic coding (SOF13)",
    0xce: "differential progressive DCT, arithmetic coding (SOF14)",
    0xcf: "differential lossless, arithmetic coding (SOF15)",
    0xf7: "JPEG-LS (SOF55)",
  };
  return names[sof] ?? `SOF marker FF${sof.toString(16).toUpperCase()}`;
}

/**
 * Reads the markers before the first scan.
 *
 * @throws DicomDecodeError INVALID_DICOM (not a JPEG stream, no SOF) or TRUNCATED (ends inside the header)
 */
export function readJpegHeader(d: Uint8Array, frame: number): JpegHeader {
  const where = `frame ${frame}`;
  if (d.length < 4 || d[0] !== 0xff || d[1] !== 0xd8) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `The JPEG data of ${where} does not start with an SOI marker (FFD8): it is not a JPEG stream ` +
        "(is the transfer syntax in the file meta right?).",
    );
  }
  let p = 2;
  let jfif = false;
  let adobeTransform: number | undefined;
  let sof: Omit<JpegHeader, "jfif" | "adobeTransform"> | undefined;
  while (p < d.length) {
    if (d[p] !== 0xff) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `The JPEG header of ${where} is corrupt: expected a marker at byte ${p}.`,
      );
    }
    const marker = d[p + 1];
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    if (p + 4 > d.length) break;
    const length = (d[p + 2] << 8) | d[p + 3];
    const body = p + 4;
    const end = p + 2 + length;
    if (end > d.length) break;
    if (marker === 0xda || marker === 0xd9) {
      if (sof === undefined) break;
      return { ...sof, jfif, adobeTransform };
    }
    if (marker === 0xe0 && length >= 7 && ascii(d, body, 5) === "JFIF\0") jfif = true;
    if (marker === 0xee && length >= 12 && ascii(d, body, 5) === "Adobe") adobeTransform = d[body + 11];
    if (isSof(marker) && sof === undefined) {
      const n = d[body + 5];
      if (length < 8 + 3 * n) break;
      const components: JpegComponent[] = [];
      for (let i = 0; i < n; i++) {
        const c = body + 6 + 3 * i;
        components.push({ id: d[c], h: d[c + 1] >> 4, v: d[c + 1] & 15, tq: d[c + 2] });
      }
      sof = {
        sof: marker,
        precision: d[body],
        rows: (d[body + 1] << 8) | d[body + 2],
        cols: (d[body + 3] << 8) | d[body + 4],
        components,
      };
    }
    p = end;
  }
  if (sof === undefined && p >= d.length - 4) {
    throw new DicomDecodeError(
      "TRUNCATED",
      `The JPEG data of ${where} ends inside its header (${d.length} bytes): the frame was cut short; fetch ` +
        "the complete file again.",
    );
  }
  throw new DicomDecodeError(
    "INVALID_DICOM",
    `The JPEG header of ${where} has no frame header (SOF marker) before its first scan: the data is corrupt.`,
  );
}

/**
 * libjpeg's guess of the colour space of a 3-component stream (jdapimin.c `default_decompress_parms`):
 * JFIF -> YCbCr; Adobe transform 0 -> RGB, otherwise YCbCr; else component ids 'R','G','B' -> RGB, anything
 * else -> YCbCr. libjpeg converts YCbCr to RGB on output; RGB passes through.
 */
export function libjpegSeesYcbcr(
  h: {
    readonly jfif: boolean;
    readonly adobeTransform?: number;
    readonly components: ReadonlyArray<{ id: number }>;
  },
): boolean {
  if (h.components.length !== 3) return false;
  if (h.jfif) return true;
  if (h.adobeTransform !== undefined) return h.adobeTransform !== 0;
  const [a, b, c] = h.components.map((x) => x.id);
  return !(a === 0x52 && b === 0x47 && c === 0x42);
}

function isSof(m: number): boolean {
  return (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;
}

function ascii(d: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = 0; i < n && at + i < d.length; i++) s += String.fromCharCode(d[at + i]);
  return s;
}
