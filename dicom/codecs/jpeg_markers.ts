/**
 * The JPEG marker segments that choose the decoder and the colour model (ITU-T T.81, JFIF, Adobe APP14).
 *
 * Reads from SOI up to the first SOS: the SOF (process, precision, size, components and sampling factors),
 * and the JFIF / Adobe markers and component identifiers that tell whether three components are YCbCr
 * (converted to RGB on output) or RGB, and the rule that decides it when they say nothing.
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

/** One marker segment; a standalone marker (SOI, EOI, RSTn, TEM) has no body (`body === end`). */
export interface Segment {
  readonly marker: number;
  /** Offset of the FF byte. */
  readonly at: number;
  /** Offset of the segment body (after the length). */
  readonly body: number;
  /** Offset after the segment; past the data when the segment is cut short. */
  readonly end: number;
}

const isStandalone = (m: number) => m === 0xd8 || m === 0xd9 || (m >= 0xd0 && m <= 0xd7) || m === 0x01;

/**
 * Reads the marker segments of a JPEG stream (ITU-T T.81 B.1), from `pos` on: fill bytes (FF FF) are
 * skipped; a lenient reader also skips stray bytes between segments, as libjpeg does, where a strict one
 * stops and sets {@link MarkerReader.stray}.
 */
export class MarkerReader {
  /** A strict reader stopped at a byte that is not a marker (at {@link MarkerReader.pos}). */
  stray = false;

  constructor(readonly d: Uint8Array, public pos = 2, private readonly lenient = false) {}

  /** The next segment, or undefined at the end of the data (or, strict, at a stray byte). */
  next(): Segment | undefined {
    const d = this.d;
    for (;;) {
      const p = this.pos;
      if (p + 1 >= d.length) return undefined;
      const marker = d[p + 1];
      if (d[p] !== 0xff || (marker === 0x00 && this.lenient)) {
        if (!this.lenient) {
          this.stray = true;
          return undefined;
        }
        this.pos += d[p] === 0xff ? 2 : 1;
        continue;
      }
      if (marker === 0xff) {
        this.pos++;
        continue;
      }
      if (isStandalone(marker)) {
        this.pos = p + 2;
        return { marker, at: p, body: p + 2, end: p + 2 };
      }
      const length = p + 4 <= d.length ? (d[p + 2] << 8) | d[p + 3] : 0;
      const end = length >= 2 ? p + 2 + length : d.length + 1;
      this.pos = Math.min(end, d.length);
      return { marker, at: p, body: p + 4, end };
    }
  }
}

/**
 * Every marker segment of a JPEG stream from its SOI up to EOI, in order, for a decoder: `visit` returns the
 * offset to go on from when it read past the segment (a scan's entropy-coded data). `what` names the data in
 * messages ("JPEG", "JPEG lossless").
 *
 * @throws DicomDecodeError TRUNCATED when a segment runs past the data
 */
export function forEachSegment(
  d: Uint8Array,
  where: string,
  what: string,
  visit: (s: Segment) => number | void,
): void {
  const reader = new MarkerReader(d, 2, true);
  for (let s = reader.next(); s && s.marker !== 0xd9; s = reader.next()) {
    if (s.end > d.length) {
      throw new DicomDecodeError(
        "TRUNCATED",
        `The ${what} data of ${where} ends inside a marker segment: the frame was cut short; fetch the ` +
          "complete file again.",
      );
    }
    const next = visit(s);
    if (next !== undefined) reader.pos = next;
  }
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
  const reader = new MarkerReader(d);
  let jfif = false;
  let adobeTransform: number | undefined;
  let sof: Omit<JpegHeader, "jfif" | "adobeTransform"> | undefined;
  for (let s = reader.next(); s && s.end <= d.length; s = reader.next()) {
    if (s.marker === 0xda || s.marker === 0xd9) {
      if (sof === undefined) break;
      return { ...sof, jfif, adobeTransform };
    }
    const length = s.end - s.body;
    if (s.marker === 0xe0 && length >= 5 && ascii(d, s.body, 5) === "JFIF\0") jfif = true;
    if (s.marker === 0xee && length >= 12 && ascii(d, s.body, 5) === "Adobe") adobeTransform = d[s.body + 11];
    if (isSof(s.marker) && sof === undefined) sof = readSof(d, s);
  }
  if (reader.stray) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `The JPEG header of ${where} is corrupt: expected a marker at byte ${reader.pos}.`,
    );
  }
  if (reader.pos >= d.length - 1 || sof !== undefined) {
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

/** The frame header of an SOF segment; undefined when its length does not hold its components. */
function readSof(d: Uint8Array, s: Segment): Omit<JpegHeader, "jfif" | "adobeTransform"> | undefined {
  const n = d[s.body + 5];
  if (s.end - s.body < 6 + 3 * n) return undefined;
  const components: JpegComponent[] = [];
  for (let i = 0; i < n; i++) {
    const c = s.body + 6 + 3 * i;
    components.push({ id: d[c], h: d[c + 1] >> 4, v: d[c + 1] & 15, tq: d[c + 2] });
  }
  return {
    sof: s.marker,
    precision: d[s.body],
    rows: (d[s.body + 1] << 8) | d[s.body + 2],
    cols: (d[s.body + 3] << 8) | d[s.body + 4],
    components,
  };
}

/** The first SOF marker byte (C0..CF except C4, C8, CC; or F7 for JPEG-LS) before the first scan. */
export function findJpegSof(d: Uint8Array): number | undefined {
  const reader = new MarkerReader(d);
  for (let s = reader.next(); s && s.marker !== 0xda && s.marker !== 0xd9; s = reader.next()) {
    if (isSof(s.marker)) return s.marker;
  }
  return undefined;
}

/** The JPEG markers that tell the colour model of a 3-component frame. */
export interface JpegColourMarkers {
  readonly jfif: boolean;
  readonly adobeTransform?: number;
  readonly components: ReadonlyArray<{ readonly id: number }>;
}

/**
 * What a 3-component codestream says it holds, as libjpeg reads it (jdapimin.c `default_decompress_parms`):
 * JFIF -> YCbCr; Adobe APP14 transform 0 -> RGB, any other transform -> YCbCr; else component ids 'R','G','B'
 * -> RGB. Undefined when it says nothing (no JFIF, no Adobe marker, other component ids), where libjpeg
 * guesses YCbCr.
 */
export function codestreamColour(h: JpegColourMarkers): "YCbCr" | "RGB" | undefined {
  if (h.components.length !== 3) return undefined;
  if (h.jfif) return "YCbCr";
  if (h.adobeTransform !== undefined) return h.adobeTransform === 0 ? "RGB" : "YCbCr";
  const [a, b, c] = h.components.map((x) => x.id);
  return a === 0x52 && b === 0x47 && c === 0x42 ? "RGB" : undefined;
}

/**
 * Whether the 3 components of a frame are YCbCr (converted to RGB on output) rather than RGB (taken as they
 * are). A codestream that says what it holds decides, per frame, as libjpeg(-turbo) does; a codestream that
 * says nothing is what the data set's PhotometricInterpretation says (RGB as is, YBR_FULL / YBR_FULL_422
 * converted), which is how DCMTK (`dcmdjpeg`), GDCM and pydicom read it (libjpeg alone would guess YCbCr).
 */
export function isYcbcr(h: JpegColourMarkers, photometric: string): boolean {
  if (h.components.length !== 3) return false;
  return (codestreamColour(h) ?? (photometric === "RGB" ? "RGB" : "YCbCr")) === "YCbCr";
}

/** An Adobe APP14 segment with transform 0 (RGB): tells libjpeg not to convert the colours. */
const ADOBE_RGB = new Uint8Array([
  0xff,
  0xee,
  0x00,
  0x0e,
  0x41,
  0x64,
  0x6f,
  0x62,
  0x65,
  0x00,
  0x64,
  0x00,
  0x00,
  0x00,
  0x00,
  0x00,
]);

/**
 * The frame as libjpeg must see it to decode it as {@link isYcbcr} decided: a silent codestream that holds
 * RGB gets an Adobe APP14 transform-0 segment after its SOI (a copy); any other frame is returned as it is.
 */
export function markedForLibjpeg(d: Uint8Array, h: JpegColourMarkers, photometric: string): Uint8Array {
  if (h.components.length !== 3 || codestreamColour(h) !== undefined || isYcbcr(h, photometric)) return d;
  const out = new Uint8Array(d.length + ADOBE_RGB.length);
  out.set(d.subarray(0, 2));
  out.set(ADOBE_RGB, 2);
  out.set(d.subarray(2), 2 + ADOBE_RGB.length);
  return out;
}

function isSof(m: number): boolean {
  return (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) || m === 0xf7;
}

function ascii(d: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = 0; i < n && at + i < d.length; i++) s += String.fromCharCode(d[at + i]);
  return s;
}

/**
 * Whether a JPEG, JPEG-LS or JPEG 2000 codestream ends with its end marker (EOI / EOC, both FFD9), ignoring
 * trailing zero padding: one that does not was cut short.
 */
export function endsWithEndMarker(d: Uint8Array): boolean {
  let end = d.length;
  while (end > 0 && d[end - 1] === 0) end--;
  return end >= 2 && d[end - 2] === 0xff && d[end - 1] === 0xd9;
}
