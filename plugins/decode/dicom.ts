/**
 * DICOM Part 10 decoder: bytes -> stored pixel values + {@link ImageMeta}.
 *
 * Pure TypeScript on top of dcmjs (no Deno or Node APIs), so it runs unchanged under Deno and Bun.
 *
 * - Native (uncompressed) transfer syntaxes: implicit VR little endian, explicit VR little endian, explicit
 *   VR big endian (pixel words byte-swapped here: dcmjs does not) and deflated explicit VR little endian.
 *   Compressed (encapsulated) syntaxes fail with `UNSUPPORTED_TRANSFER_SYNTAX`.
 * - Stored values are masked to `BitsStored` bits below `HighBit` and sign-extended when
 *   `PixelRepresentation` is 1, whatever garbage the container's other bits hold.
 * - Output layout: `[frames, samplesPerPixel, rows, cols]`, planar, C order, float32.
 * - Before handing the bytes to dcmjs, the element structure is walked once to find truncation and
 *   malformed lengths (dcmjs silently reads past the end of a cut-short file).
 *
 * @module
 */
import dcmjs from "dcmjs";
import type { ImageMeta, LutTable, WindowValue } from "../../core/meta.ts";

// ---------------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------------

/** Why a file could not be decoded. */
export type DecodeErrorCode =
  | "NOT_DICOM"
  | "TRUNCATED"
  | "UNSUPPORTED_TRANSFER_SYNTAX"
  | "UNSUPPORTED_PIXEL_DATA"
  | "MISSING_PIXEL_DATA"
  | "INVALID_DICOM";

/** The one error {@link decodeDicom} and {@link readHeader} throw. */
export class DicomDecodeError extends Error {
  readonly code: DecodeErrorCode;
  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.name = "DicomDecodeError";
    this.code = code;
  }
}

/** A decoded image: metadata and stored values. */
export interface DecodedDicom {
  readonly meta: ImageMeta;
  /** Stored values, shape `[frames, samplesPerPixel, rows, cols]`, planar, C order. */
  readonly data: Float32Array;
}

/** A transfer syntax: its PS3.6 name and whether {@link decodeDicom} can read its pixel data. */
export interface TransferSyntaxInfo {
  readonly name: string;
  readonly supported: boolean;
}

const IMPLICIT_LE = "1.2.840.10008.1.2";
const EXPLICIT_LE = "1.2.840.10008.1.2.1";
const DEFLATED_LE = "1.2.840.10008.1.2.1.99";
const EXPLICIT_BE = "1.2.840.10008.1.2.2";

const TS_TABLE: ReadonlyArray<readonly [string, string, boolean]> = [
  [IMPLICIT_LE, "Implicit VR Little Endian", true],
  [EXPLICIT_LE, "Explicit VR Little Endian", true],
  ["1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", false],
  [DEFLATED_LE, "Deflated Explicit VR Little Endian", true],
  [EXPLICIT_BE, "Explicit VR Big Endian (Retired)", true],
  ["1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", false],
  ["1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", false],
  ["1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5) (Retired)", false],
  ["1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (Retired)", false],
  ["1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (Retired)", false],
  ["1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (Retired)", false],
  ["1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (Retired)", false],
  ["1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", false],
  ["1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15) (Retired)", false],
  ["1.2.840.10008.1.2.4.59", "JPEG Extended, Hierarchical (Process 16 & 18) (Retired)", false],
  ["1.2.840.10008.1.2.4.60", "JPEG Extended, Hierarchical (Process 17 & 19) (Retired)", false],
  ["1.2.840.10008.1.2.4.61", "JPEG Spectral Selection, Hierarchical (Process 20 & 22) (Retired)", false],
  ["1.2.840.10008.1.2.4.62", "JPEG Spectral Selection, Hierarchical (Process 21 & 23) (Retired)", false],
  ["1.2.840.10008.1.2.4.63", "JPEG Full Progression, Hierarchical (Process 24 & 26) (Retired)", false],
  ["1.2.840.10008.1.2.4.64", "JPEG Full Progression, Hierarchical (Process 25 & 27) (Retired)", false],
  ["1.2.840.10008.1.2.4.65", "JPEG Lossless, Hierarchical (Process 28) (Retired)", false],
  ["1.2.840.10008.1.2.4.66", "JPEG Lossless, Hierarchical (Process 29) (Retired)", false],
  [
    "1.2.840.10008.1.2.4.70",
    "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
    false,
  ],
  ["1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression", false],
  ["1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", false],
  ["1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", false],
  ["1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", false],
  ["1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)", false],
  ["1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression", false],
  ["1.2.840.10008.1.2.4.94", "JPIP Referenced", false],
  ["1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", false],
  ["1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", false],
  ["1.2.840.10008.1.2.4.100.1", "Fragmentable MPEG2 Main Profile / Main Level", false],
  ["1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", false],
  ["1.2.840.10008.1.2.4.101.1", "Fragmentable MPEG2 Main Profile / High Level", false],
  ["1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", false],
  ["1.2.840.10008.1.2.4.102.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1", false],
  ["1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", false],
  [
    "1.2.840.10008.1.2.4.103.1",
    "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
    false,
  ],
  ["1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", false],
  ["1.2.840.10008.1.2.4.104.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", false],
  ["1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", false],
  ["1.2.840.10008.1.2.4.105.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", false],
  ["1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", false],
  ["1.2.840.10008.1.2.4.106.1", "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", false],
  ["1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", false],
  ["1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", false],
  ["1.2.840.10008.1.2.4.110", "JPEG XL Lossless", false],
  ["1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", false],
  ["1.2.840.10008.1.2.4.112", "JPEG XL", false],
  ["1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", false],
  [
    "1.2.840.10008.1.2.4.202",
    "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
    false,
  ],
  ["1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", false],
  ["1.2.840.10008.1.2.4.204", "JPIP HTJ2K Referenced", false],
  ["1.2.840.10008.1.2.4.205", "JPIP HTJ2K Referenced Deflate", false],
  ["1.2.840.10008.1.2.5", "RLE Lossless", false],
  ["1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation (Retired)", false],
  ["1.2.840.10008.1.2.6.2", "XML Encoding (Retired)", false],
  ["1.2.840.10008.1.2.7.1", "SMPTE ST 2110-20 Uncompressed Progressive Active Video", false],
  ["1.2.840.10008.1.2.7.2", "SMPTE ST 2110-20 Uncompressed Interlaced Active Video", false],
  ["1.2.840.10008.1.2.7.3", "SMPTE ST 2110-30 PCM Digital Audio", false],
  ["1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression", false],
  ["1.2.840.10008.1.20", "Papyrus 3 Implicit VR Little Endian (Retired)", false],
];

/** Every standard transfer syntax UID, with its name and whether its pixel data can be decoded now. */
export const TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntaxInfo> = new Map(
  TS_TABLE.map(([uid, name, supported]) => [uid, { name, supported }]),
);

/**
 * Decode a DICOM Part 10 file (or a bare data set without preamble / file meta) into stored values.
 *
 * @throws DicomDecodeError (never anything else)
 */
export function decodeDicom(bytes: Uint8Array): DecodedDicom {
  return guard(() => {
    const parsed = parse(bytes, false);
    const ds = parsed.dataset;
    const pixelValue = ds.PixelData;
    if (pixelValue === undefined) throw missingPixelData(ds);
    const meta = buildMeta(parsed);
    checkPixelModule(meta);
    const pixels = pixelBytes(pixelValue);
    const data = storedValues(meta, pixels, parsed.transferSyntaxUid === EXPLICIT_BE, parsed.pixelVr);
    return { meta, data };
  });
}

/**
 * Read the header only (the pixel data is neither parsed nor checked), e.g. for `dcmflow inspect`.
 * Works for every transfer syntax, compressed ones included.
 *
 * @throws DicomDecodeError (never anything else)
 */
export function readHeader(bytes: Uint8Array): ImageMeta {
  return guard(() => buildMeta(parse(bytes, true)));
}

// ---------------------------------------------------------------------------------------------------------
// dcmjs (untyped): the minimal surface used here
// ---------------------------------------------------------------------------------------------------------

interface DcmjsElement {
  vr?: string;
  Value?: unknown;
}
type DcmjsDict = Record<string, DcmjsElement>;
interface DcmjsReadOptions {
  ignoreErrors: boolean;
  untilTag: string | null;
  includeUntilTagValue: boolean;
  noCopy: boolean;
  forceStoreRaw: boolean;
}
interface DcmjsLogger {
  getLevel(): number;
  setLevel(level: number | string, persist?: boolean): void;
  rebuild?: () => void;
}
interface Dcmjs {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: DcmjsReadOptions): { meta: DcmjsDict; dict: DcmjsDict };
    };
    DicomMetaDictionary: { naturalizeDataset(dict: DcmjsDict): Record<string, unknown> };
  };
  log: DcmjsLogger;
}
const DCMJS = dcmjs as unknown as Dcmjs;
const SILENT = 5;

/** Runs `fn` with dcmjs's loggers (root and children such as "validation.dcmjs") silenced. */
function quietly<T>(fn: () => T): T {
  const log = DCMJS.log;
  let previous: number | undefined;
  try {
    previous = log.getLevel();
    log.setLevel(SILENT, false);
    log.rebuild?.(); // loglevel >= 1.9: children without their own level follow the root
  } catch {
    previous = undefined;
  }
  try {
    return fn();
  } finally {
    if (previous !== undefined) {
      try {
        log.setLevel(previous, false);
        log.rebuild?.();
      } catch {
        // logging configuration is best effort
      }
    }
  }
}

/** Turns anything thrown into a DicomDecodeError (no raw stack traces leak out). */
function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DicomDecodeError) throw e;
    throw new DicomDecodeError("INVALID_DICOM", `The DICOM file could not be decoded: ${errorText(e)}.`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Container: preamble, file meta, structure walk, dcmjs parse
// ---------------------------------------------------------------------------------------------------------

interface Parsed {
  readonly transferSyntaxUid: string;
  /** Naturalized data set, pixel data included unless parsed header-only. */
  readonly dataset: Record<string, unknown>;
  /** Whether the data set has a Pixel Data (7FE0,0010) element. */
  readonly hasPixelData: boolean;
  /** VR of Pixel Data as encoded (OB / OW), when known. */
  readonly pixelVr?: string;
}

const PREAMBLE = 128;
const PIXEL_DATA_TAG = "7FE00010";

function parse(bytes: Uint8Array, headerOnly: boolean): Parsed {
  if (bytes.length === 0) {
    throw new DicomDecodeError("NOT_DICOM", "Not a DICOM Part 10 file: the input is empty (0 bytes).");
  }
  let file = bytes;
  let raw = false;
  if (!hasDicmPrefix(bytes)) {
    const wrapped = wrapBareDataset(bytes);
    if (wrapped === undefined) throw notDicom(bytes, "");
    file = wrapped;
    raw = true;
  }

  let structure: WalkResult;
  try {
    structure = walkFile(file, headerOnly);
  } catch (e) {
    // A file without the DICM prefix that does not walk cleanly is most likely not DICOM at all.
    if (raw && e instanceof DicomDecodeError) throw notDicom(bytes, ` (${e.message})`);
    throw e;
  }
  const { transferSyntaxUid } = structure;
  // No Transfer Syntax UID in the file meta: the walk guessed it from the data set; dcmjs needs it written.
  if (structure.guessedSyntax) file = wrapDataset(file.subarray(structure.datasetStart), transferSyntaxUid);
  // Decoding needs a native syntax: say so before parsing the (possibly large) data set.
  if (!headerOnly) requireSupportedSyntax(transferSyntaxUid);
  if (!headerOnly && structure.pixel?.undefinedLength) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `Pixel Data has an undefined length (encapsulated fragments), but the transfer syntax ` +
        `${syntaxLabel(transferSyntaxUid)} is not an encapsulated one.`,
    );
  }

  const buffer =
    file.byteOffset === 0 && file.byteLength === file.buffer.byteLength && file.buffer instanceof ArrayBuffer
      ? file.buffer
      : file.slice().buffer;
  const options: DcmjsReadOptions = {
    ignoreErrors: false,
    untilTag: headerOnly ? PIXEL_DATA_TAG : null,
    includeUntilTagValue: false,
    noCopy: false,
    forceStoreRaw: false,
  };
  const read = (opts: DcmjsReadOptions) => quietly(() => DCMJS.data.DicomMessage.readFile(buffer, opts));
  let message: { meta: DcmjsDict; dict: DcmjsDict };
  let dataset: Record<string, unknown>;
  let pixelInDict = false;
  try {
    try {
      message = read(options);
    } catch (e) {
      // Recoverable oddities: no (0002,0000) group length, or an unknown Specific Character Set. The
      // structure walk has already checked every element length, so a lenient parse is safe here.
      if (!/character set|meta length/i.test(errorText(e))) throw e;
      message = read({ ...options, ignoreErrors: true });
    }
    pixelInDict = PIXEL_DATA_TAG in message.dict;
    if (headerOnly) delete message.dict[PIXEL_DATA_TAG];
    dataset = quietly(() => DCMJS.data.DicomMetaDictionary.naturalizeDataset(message.dict));
  } catch (e) {
    throw dcmjsFailure(e, transferSyntaxUid);
  }
  const dict = message.dict;
  const hasPixelData = structure.pixel !== undefined || pixelInDict ||
    dataset.PixelData !== undefined;
  const pixelVr = structure.pixel?.vr ?? dict[PIXEL_DATA_TAG]?.vr;
  return { transferSyntaxUid, dataset, hasPixelData, pixelVr };
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * dcmjs failed although the structure walk passed. For deflated files the walk cannot look inside the
 * compressed stream, and an incomplete stream is what a cut-short file gives (pako then returns nothing).
 */
function dcmjsFailure(e: unknown, transferSyntaxUid: string): DicomDecodeError {
  if (e instanceof DicomDecodeError) return e;
  const detail = errorText(e);
  if (transferSyntaxUid === DEFLATED_LE) {
    if (e instanceof TypeError || e instanceof RangeError) {
      return new DicomDecodeError(
        "TRUNCATED",
        "The deflated data set ends before the end of its compressed stream: the file is truncated; fetch " +
          "the complete file again.",
      );
    }
    return new DicomDecodeError(
      "INVALID_DICOM",
      `The deflated data set is corrupt and cannot be inflated: ${detail}.`,
    );
  }
  return new DicomDecodeError("INVALID_DICOM", `The DICOM data set could not be parsed: ${detail}.`);
}

function hasDicmPrefix(b: Uint8Array): boolean {
  return b.length >= PREAMBLE + 4 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

function notDicom(bytes: Uint8Array, why: string): DicomDecodeError {
  const head = Array.from(
    bytes.subarray(0, 16),
    (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "."),
  )
    .join("");
  return new DicomDecodeError(
    "NOT_DICOM",
    `Not a DICOM Part 10 file: no DICM prefix at byte 128 (${bytes.length} bytes, starting "${head}"), ` +
      `and the bytes do not parse as a bare DICOM data set either${why}.`,
  );
}

const VRS = new Set(
  "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV"
    .split(" "),
);
const LONG_VRS = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"]);

/**
 * Files without the 128-byte preamble + "DICM": either a file meta group without preamble, or a bare data
 * set (ACR-NEMA style, typically implicit VR little endian starting with group 0008). Wraps them into a
 * Part 10 file so one code path reads everything. Returns undefined when the bytes do not look like DICOM.
 */
function wrapBareDataset(b: Uint8Array): Uint8Array | undefined {
  if (b.length < 8) return undefined;
  const group = b[0] | (b[1] << 8);
  const element = b[2] | (b[3] << 8);
  const vr = String.fromCharCode(b[4], b[5]);
  if (group === 0x0002 && element === 0x0000 && vr === "UL") {
    const out = new Uint8Array(PREAMBLE + 4 + b.length);
    out.set([0x44, 0x49, 0x43, 0x4d], PREAMBLE);
    out.set(b, PREAMBLE + 4);
    return out;
  }
  if (group === 0x0008 && element <= 0x0020) return wrapDataset(b, VRS.has(vr) ? EXPLICIT_LE : IMPLICIT_LE);
  const groupBE = (b[0] << 8) | b[1];
  const elementBE = (b[2] << 8) | b[3];
  if (groupBE === 0x0008 && elementBE <= 0x0020 && VRS.has(vr)) return wrapDataset(b, EXPLICIT_BE);
  return undefined;
}

/** Preamble + "DICM" + a minimal file meta group naming `uid`, followed by the data set bytes. */
function wrapDataset(dataset: Uint8Array, uid: string): Uint8Array {
  const uidBytes = uid.length % 2 === 0 ? uid : uid + "\0";
  // (0002,0000) UL 4 <len> + (0002,0010) UI <len> <uid>
  const metaLength = 8 + uidBytes.length;
  const out = new Uint8Array(PREAMBLE + 4 + 12 + metaLength + dataset.length);
  const v = new DataView(out.buffer);
  let p = PREAMBLE;
  out.set([0x44, 0x49, 0x43, 0x4d], p);
  p += 4;
  v.setUint16(p, 0x0002, true);
  v.setUint16(p + 2, 0x0000, true);
  out.set([0x55, 0x4c], p + 4); // UL
  v.setUint16(p + 6, 4, true);
  v.setUint32(p + 8, metaLength, true);
  p += 12;
  v.setUint16(p, 0x0002, true);
  v.setUint16(p + 2, 0x0010, true);
  out.set([0x55, 0x49], p + 4); // UI
  v.setUint16(p + 6, uidBytes.length, true);
  for (let i = 0; i < uidBytes.length; i++) out[p + 8 + i] = uidBytes.charCodeAt(i);
  p += 8 + uidBytes.length;
  out.set(dataset, p);
  return out;
}

interface PixelElement {
  readonly vr?: string;
  readonly undefinedLength: boolean;
}

interface WalkContext {
  readonly bytes: Uint8Array;
  readonly little: boolean;
  readonly explicit: boolean;
  readonly stopAtPixelData: boolean;
  pixel?: PixelElement;
}

const UNDEFINED_LENGTH = 0xffffffff;
const MAX_DEPTH = 64;

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, "0");
}

function truncated(what: string, needed: number, bytes: Uint8Array): DicomDecodeError {
  return new DicomDecodeError(
    "TRUNCATED",
    `The DICOM file is truncated: ${what} needs ${needed} bytes, but the file ends at byte ${bytes.length}. ` +
      `It was probably cut short while copying or downloading; fetch the complete file again.`,
  );
}

/**
 * Walks the element structure (file meta, then the data set) without interpreting values: every length
 * must fit inside the file, every undefined-length sequence and item must be closed. Returns the transfer
 * syntax read from the file meta and facts about Pixel Data. Pixel Data that is cut short is left for the
 * pixel stage to report (with expected vs present byte counts).
 */
interface WalkResult {
  readonly transferSyntaxUid: string;
  /** True when the file meta has no Transfer Syntax UID and it was inferred from the data set. */
  readonly guessedSyntax: boolean;
  /** Byte offset of the first data set element. */
  readonly datasetStart: number;
  readonly pixel?: PixelElement;
}

function walkFile(bytes: Uint8Array, headerOnly: boolean): WalkResult {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // File meta: explicit VR little endian, group 0002.
  let pos = PREAMBLE + 4;
  let transferSyntaxUid: string | undefined;
  let groupLength: number | undefined;
  while (pos + 8 <= bytes.length && v.getUint16(pos, true) === 0x0002) {
    const element = v.getUint16(pos + 2, true);
    const vr = String.fromCharCode(bytes[pos + 4], bytes[pos + 5]);
    if (!VRS.has(vr)) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `Malformed file meta information: element (0002,${hex4(element)}) at byte ${pos} has no valid VR.`,
      );
    }
    let length: number;
    let header: number;
    if (LONG_VRS.has(vr)) {
      if (pos + 12 > bytes.length) {
        throw truncated(`the header of element (0002,${hex4(element)})`, pos + 12, bytes);
      }
      length = v.getUint32(pos + 8, true);
      header = 12;
    } else {
      length = v.getUint16(pos + 6, true);
      header = 8;
    }
    if (length === UNDEFINED_LENGTH) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `Malformed file meta information: (0002,${hex4(element)}).`,
      );
    }
    const end = pos + header + length;
    if (end > bytes.length) throw truncated(`file meta element (0002,${hex4(element)})`, end, bytes);
    if (element === 0x0010) {
      transferSyntaxUid = latin1(bytes.subarray(pos + header, end)).replace(/[\0 ]+$/, "").trim();
    }
    if (element === 0x0000 && vr === "UL" && length === 4) groupLength = v.getUint32(pos + header, true);
    pos = end;
  }
  const metaStart = PREAMBLE + 4;
  if (groupLength !== undefined && metaStart + 12 + groupLength > bytes.length) {
    throw truncated(
      `the file meta information (group length ${groupLength})`,
      metaStart + 12 + groupLength,
      bytes,
    );
  }
  if (pos >= bytes.length) {
    throw truncated("the data set after the file meta information", pos + 8, bytes);
  }
  if (pos + 8 > bytes.length) throw truncated("the first data set element", pos + 8, bytes);
  let guessedSyntax = false;
  if (transferSyntaxUid === undefined || transferSyntaxUid === "") {
    // Seen in the wild: infer little endian, explicit when the first element carries a valid VR.
    transferSyntaxUid = VRS.has(String.fromCharCode(bytes[pos + 4], bytes[pos + 5]))
      ? EXPLICIT_LE
      : IMPLICIT_LE;
    guessedSyntax = true;
  }
  if (transferSyntaxUid === DEFLATED_LE) {
    // The rest is raw-deflated; dcmjs inflates it. Pixel Data length is still checked after parsing.
    return { transferSyntaxUid, guessedSyntax, datasetStart: pos };
  }
  const ctx: WalkContext = {
    bytes,
    little: transferSyntaxUid !== EXPLICIT_BE,
    explicit: transferSyntaxUid !== IMPLICIT_LE,
    stopAtPixelData: headerOnly,
  };
  try {
    walkElements(ctx, v, pos, 0, false);
  } catch (e) {
    if (guessedSyntax && e instanceof DicomDecodeError && e.code === "INVALID_DICOM") {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `The file meta information has no Transfer Syntax UID (0002,0010), and the data set does not read as ` +
          `${syntaxLabel(transferSyntaxUid)} either: ${e.message}`,
      );
    }
    throw e;
  }
  return { transferSyntaxUid, guessedSyntax, datasetStart: pos, pixel: ctx.pixel };
}

/** Walks elements from `pos`; inside an undefined-length item, returns after its delimiter. */
function walkElements(ctx: WalkContext, v: DataView, pos: number, depth: number, inItem: boolean): number {
  const { bytes, little, explicit } = ctx;
  if (depth > MAX_DEPTH) {
    throw new DicomDecodeError("INVALID_DICOM", `Sequences are nested more than ${MAX_DEPTH} levels deep.`);
  }
  while (pos < bytes.length) {
    if (pos + 8 > bytes.length) throw truncated(`the data element header at byte ${pos}`, pos + 8, bytes);
    const group = v.getUint16(pos, little);
    const element = v.getUint16(pos + 2, little);
    const tag = `(${hex4(group)},${hex4(element)})`;
    if (group === 0xfffe) {
      if (inItem && element === 0xe00d) return pos + 8;
      throw new DicomDecodeError("INVALID_DICOM", `Unexpected delimiter ${tag} at byte ${pos}.`);
    }
    const isPixelData = depth === 0 && group === 0x7fe0 && element === 0x0010;
    if (isPixelData && ctx.stopAtPixelData) {
      ctx.pixel = {
        vr: explicit ? String.fromCharCode(bytes[pos + 4], bytes[pos + 5]) : undefined,
        undefinedLength: false,
      };
      return bytes.length;
    }
    let vr: string | undefined;
    let length: number;
    let header: number;
    if (explicit) {
      vr = String.fromCharCode(bytes[pos + 4], bytes[pos + 5]);
      if (!VRS.has(vr)) {
        throw new DicomDecodeError(
          "INVALID_DICOM",
          `Malformed data element ${tag} at byte ${pos}: "${vr}" is not a value representation ` +
            `(is the transfer syntax in the file meta right?).`,
        );
      }
      if (LONG_VRS.has(vr)) {
        if (pos + 12 > bytes.length) throw truncated(`the header of element ${tag}`, pos + 12, bytes);
        length = v.getUint32(pos + 8, little);
        header = 12;
      } else {
        length = v.getUint16(pos + 6, little);
        header = 8;
      }
    } else {
      length = v.getUint32(pos + 4, little);
      header = 8;
    }
    const start = pos;
    pos += header;
    if (length === UNDEFINED_LENGTH) {
      if (isPixelData) {
        ctx.pixel = { vr, undefinedLength: true };
        pos = walkItems(ctx, v, pos, depth + 1, tag, start);
      } else if (!explicit || vr === "SQ") {
        pos = walkItems(ctx, v, pos, depth + 1, tag, start);
      } else if (vr === "UN") {
        // Undefined-length UN: a sequence encoded in implicit VR little endian (PS3.5 6.2.2).
        const inner: WalkContext = { ...ctx, little: true, explicit: false };
        pos = walkItems(inner, v, pos, depth + 1, tag, start);
      } else {
        throw new DicomDecodeError(
          "INVALID_DICOM",
          `Data element ${tag} at byte ${start} has an undefined length but VR ${vr}.`,
        );
      }
      continue;
    }
    if (isPixelData) ctx.pixel = { vr, undefinedLength: false };
    if (pos + length > bytes.length) {
      if (isPixelData) return bytes.length; // reported with expected/present counts by the pixel stage
      throw truncated(`data element ${tag} at byte ${start} (${length} bytes of value)`, pos + length, bytes);
    }
    pos += length;
  }
  if (inItem) throw truncated("an unterminated sequence item", bytes.length + 8, bytes);
  return pos;
}

/** Walks the items of an undefined-length sequence (or encapsulated pixel data) up to its delimiter. */
function walkItems(
  ctx: WalkContext,
  v: DataView,
  pos: number,
  depth: number,
  owner: string,
  ownerAt: number,
): number {
  const { bytes, little } = ctx;
  for (;;) {
    if (pos + 8 > bytes.length) {
      throw truncated(`the sequence ${owner} that starts at byte ${ownerAt} (never closed)`, pos + 8, bytes);
    }
    const group = v.getUint16(pos, little);
    const element = v.getUint16(pos + 2, little);
    const length = v.getUint32(pos + 4, little);
    if (group !== 0xfffe || (element !== 0xe000 && element !== 0xe0dd)) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `Malformed sequence ${owner}: expected an item or sequence delimiter at byte ${pos}, found ` +
          `(${hex4(group)},${hex4(element)}).`,
      );
    }
    pos += 8;
    if (element === 0xe0dd) return pos;
    if (length === UNDEFINED_LENGTH) {
      pos = walkElements(ctx, v, pos, depth, true);
    } else {
      if (pos + length > bytes.length) {
        throw truncated(`an item of ${owner} at byte ${pos - 8} (${length} bytes)`, pos + length, bytes);
      }
      pos += length;
    }
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Transfer syntax and pixel module checks
// ---------------------------------------------------------------------------------------------------------

function syntaxLabel(uid: string): string {
  const info = TRANSFER_SYNTAXES.get(uid);
  return info ? `${info.name} (${uid})` : `${uid} (not a standard transfer syntax)`;
}

function decompressHint(uid: string): string {
  if (
    uid.startsWith("1.2.840.10008.1.2.4.5") || uid.startsWith("1.2.840.10008.1.2.4.6") ||
    uid === "1.2.840.10008.1.2.4.70"
  ) {
    return "e.g. `dcmdjpeg in.dcm out.dcm` (DCMTK) or `gdcmconv --raw in.dcm out.dcm` (GDCM)";
  }
  if (uid === "1.2.840.10008.1.2.4.80" || uid === "1.2.840.10008.1.2.4.81") {
    return "e.g. `dcmdjpls in.dcm out.dcm` (DCMTK) or `gdcmconv --raw in.dcm out.dcm` (GDCM)";
  }
  if (uid === "1.2.840.10008.1.2.5") {
    return "e.g. `dcmdrle in.dcm out.dcm` (DCMTK) or `gdcmconv --raw in.dcm out.dcm` (GDCM)";
  }
  return "e.g. `gdcmconv --raw in.dcm out.dcm` (GDCM) or `dcmdjpeg in.dcm out.dcm` (DCMTK, for JPEG)";
}

function requireSupportedSyntax(uid: string): void {
  const info = TRANSFER_SYNTAXES.get(uid);
  if (info?.supported) return;
  if (info === undefined) {
    throw new DicomDecodeError(
      "UNSUPPORTED_TRANSFER_SYNTAX",
      `Transfer syntax ${uid} is not a standard DICOM transfer syntax (private?) and cannot be decoded. ` +
        `Supported: ${supportedList()}. Convert the file with the vendor's tools or ` +
        "`gdcmconv --raw in.dcm out.dcm`.",
    );
  }
  throw new DicomDecodeError(
    "UNSUPPORTED_TRANSFER_SYNTAX",
    `Transfer syntax ${info.name} (${uid}) is not supported: compressed (encapsulated) transfer syntaxes are ` +
      `not supported yet (supported: ${supportedList()}). Decompress the file first, ${decompressHint(uid)}.`,
  );
}

function supportedList(): string {
  return TS_TABLE.filter((t) => t[2]).map((t) => t[1]).join(", ");
}

function missingPixelData(ds: Record<string, unknown>): DicomDecodeError {
  if (ds.FloatPixelData !== undefined || ds.DoubleFloatPixelData !== undefined) {
    const which = ds.FloatPixelData !== undefined
      ? "Float Pixel Data (7FE0,0008)"
      : "Double Float Pixel Data (7FE0,0009)";
    return new DicomDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      `${which} is not supported yet: only integer Pixel Data (7FE0,0010) can be decoded.`,
    );
  }
  const sop = str(ds.SOPClassUID);
  const looksLikeImage = ds.Rows !== undefined && ds.Columns !== undefined;
  return new DicomDecodeError(
    "MISSING_PIXEL_DATA",
    looksLikeImage
      ? `The DICOM file has image attributes (Rows, Columns) but no Pixel Data (7FE0,0010)` +
        `${
          sop ? ` (SOP Class ${sop})` : ""
        }. Either it was truncated right before the pixel data (compare its ` +
        `size with the original) or the sender stripped the pixels; there is nothing to decode.`
      : `The DICOM file has no Pixel Data (7FE0,0010)${
        sop ? ` (SOP Class ${sop})` : ""
      }, so there is nothing ` +
        `to decode: either it is not an image (e.g. a structured report, presentation state or DICOMDIR) or ` +
        `it was truncated before the pixel data (compare its size with the original).`,
  );
}

const SUPPORTED_PHOTOMETRIC = new Map([["MONOCHROME1", 1], ["MONOCHROME2", 1], ["RGB", 3]]);

function checkPixelModule(m: ImageMeta): void {
  const bad = (msg: string) => new DicomDecodeError("INVALID_DICOM", msg);
  const unsupported = (msg: string) => new DicomDecodeError("UNSUPPORTED_PIXEL_DATA", msg);
  if (m.bitsAllocated === 1) {
    throw unsupported(
      "BitsAllocated 1 (single-bit pixels packed 8 per byte, e.g. a binary segmentation or overlay) is not " +
        "supported yet.",
    );
  }
  if (m.bitsAllocated !== 8 && m.bitsAllocated !== 16 && m.bitsAllocated !== 32) {
    throw unsupported(`BitsAllocated ${m.bitsAllocated} is not supported (supported: 8, 16, 32).`);
  }
  if (!(m.bitsStored >= 1 && m.bitsStored <= m.bitsAllocated)) {
    throw bad(`BitsStored ${m.bitsStored} is not between 1 and BitsAllocated (${m.bitsAllocated}).`);
  }
  if (!(m.highBit >= m.bitsStored - 1 && m.highBit < m.bitsAllocated)) {
    throw bad(
      `HighBit ${m.highBit} is inconsistent with BitsStored ${m.bitsStored} and BitsAllocated ` +
        `${m.bitsAllocated} (it must be at least BitsStored - 1 and below BitsAllocated).`,
    );
  }
  if (m.pixelRepresentation !== 0 && m.pixelRepresentation !== 1) {
    throw bad(`PixelRepresentation ${m.pixelRepresentation} is invalid (0 unsigned, 1 two's complement).`);
  }
  const spp = SUPPORTED_PHOTOMETRIC.get(m.photometric);
  if (spp === undefined) {
    throw unsupported(
      `Photometric interpretation ${m.photometric || "(empty)"} is not supported yet (supported: ` +
        `MONOCHROME1, MONOCHROME2, RGB). Convert the image to RGB or grayscale with a DICOM toolkit first.`,
    );
  }
  if (m.samplesPerPixel !== spp) {
    throw bad(
      `SamplesPerPixel ${m.samplesPerPixel} does not match the photometric interpretation ${m.photometric} ` +
        `(which needs ${spp}).`,
    );
  }
  if (m.samplesPerPixel > 1 && m.planarConfiguration !== 0 && m.planarConfiguration !== 1) {
    throw bad(`PlanarConfiguration ${m.planarConfiguration} is invalid (0 interleaved, 1 planar).`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Stored values
// ---------------------------------------------------------------------------------------------------------

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function pixelBytes(value: unknown): Uint8Array {
  const first = Array.isArray(value) ? value[0] : value;
  if (Array.isArray(value) && value.length > 1) {
    throw new DicomDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      `Pixel Data is split into ${value.length} fragments although the transfer syntax is uncompressed.`,
    );
  }
  if (first instanceof ArrayBuffer) return new Uint8Array(first);
  if (ArrayBuffer.isView(first)) return new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  throw new DicomDecodeError("INVALID_DICOM", "Pixel Data (7FE0,0010) is empty or unreadable.");
}

/**
 * Container words -> stored values, planar `[frames, samples, rows, cols]`.
 *
 * value = word >>> (HighBit + 1 - BitsStored), keep BitsStored bits, sign-extend from bit BitsStored - 1
 * when PixelRepresentation is 1. Both done with one pair of 32-bit shifts.
 */
function storedValues(
  m: ImageMeta,
  bytes: Uint8Array,
  bigEndian: boolean,
  pixelVr: string | undefined,
): Float32Array {
  const pixelsPerFrame = m.rows * m.cols;
  const spp = m.samplesPerPixel;
  const count = pixelsPerFrame * spp * m.frames;
  const bytesPerSample = m.bitsAllocated / 8;
  // 8-bit samples in big-endian OW words are read pairwise, so the pad byte of an odd count is needed too.
  const pairwise = bigEndian && pixelVr === "OW" && bytesPerSample === 1;
  const expected = pairwise ? count + (count & 1) : count * bytesPerSample;
  if (bytes.length < expected) {
    throw new DicomDecodeError(
      "TRUNCATED",
      `Pixel Data is truncated: ${m.rows} rows x ${m.cols} columns x ${m.frames} frame(s) x ${spp} ` +
        `sample(s) x ${bytesPerSample} byte(s) = ${expected} bytes expected, but only ${bytes.length} bytes ` +
        `are present. The file was probably cut short; fetch the complete file again.`,
    );
  }

  // Read the container words in file order into a host-order typed array.
  let words: Uint8Array | Uint16Array | Uint32Array;
  if (bytesPerSample === 1) {
    if (pairwise) {
      // 8-bit samples in 16-bit OW words, big endian: the two bytes of every word are swapped.
      const swapped = new Uint8Array(count);
      for (let i = 0; i < count; i++) swapped[i] = bytes[i ^ 1];
      words = swapped;
    } else {
      words = bytes.subarray(0, count);
    }
  } else if (HOST_LITTLE_ENDIAN) {
    const aligned = bytes.byteOffset % bytesPerSample === 0 ? bytes : bytes.slice(0, expected);
    words = bytesPerSample === 2
      ? new Uint16Array(aligned.buffer, aligned.byteOffset, count)
      : new Uint32Array(aligned.buffer, aligned.byteOffset, count);
    if (bigEndian) words = swapWords(words, bytesPerSample);
  } else {
    words = readWordsPortable(bytes, count, bytesPerSample, bigEndian);
  }

  const out = new Float32Array(count);
  const shift = m.highBit + 1 - m.bitsStored;
  const up = 32 - m.bitsStored;
  const signed = m.pixelRepresentation === 1;
  const planes = spp > 1 && m.planarConfiguration === 0 ? spp : 1;

  if (planes === 1) {
    // Already planar (or single sample): element order is the output order.
    if (shift === 0 && up === 0) {
      if (signed) {
        for (let i = 0; i < count; i++) out[i] = words[i] | 0;
      } else {
        for (let i = 0; i < count; i++) out[i] = words[i];
      }
    } else if (shift === 0 && m.bitsStored === m.bitsAllocated && !signed) {
      for (let i = 0; i < count; i++) out[i] = words[i];
    } else if (signed) {
      for (let i = 0; i < count; i++) out[i] = ((words[i] >>> shift) << up) >> up;
    } else {
      for (let i = 0; i < count; i++) out[i] = ((words[i] >>> shift) << up) >>> up;
    }
    return out;
  }

  // Interleaved samples (PlanarConfiguration 0) -> planar, frame by frame.
  for (let f = 0; f < m.frames; f++) {
    const base = f * pixelsPerFrame * spp;
    for (let s = 0; s < spp; s++) {
      const o = base + s * pixelsPerFrame;
      let i = base + s;
      if (signed) {
        for (let p = 0; p < pixelsPerFrame; p++, i += spp) out[o + p] = ((words[i] >>> shift) << up) >> up;
      } else {
        for (let p = 0; p < pixelsPerFrame; p++, i += spp) out[o + p] = ((words[i] >>> shift) << up) >>> up;
      }
    }
  }
  return out;
}

/** Big-endian hosts (rare): read each container word with a DataView. */
function readWordsPortable(bytes: Uint8Array, count: number, bytesPerSample: number, bigEndian: boolean) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytesPerSample === 2) {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = v.getUint16(2 * i, !bigEndian);
    return out;
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    // OW words in file byte order, low word first (see swapWords).
    out[i] = (v.getUint16(4 * i, !bigEndian) | (v.getUint16(4 * i + 2, !bigEndian) << 16)) >>> 0;
  }
  return out;
}

/** Little-endian host, big-endian file: byte-swap every 16-bit OW word. */
function swapWords(words: Uint16Array | Uint32Array, bytesPerSample: number): Uint16Array | Uint32Array {
  const n = words.length;
  if (bytesPerSample === 2) {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const w = words[i];
      out[i] = ((w & 0xff) << 8) | (w >>> 8);
    }
    return out;
  }
  // 32-bit samples in OW Pixel Data: each 16-bit word is byte-swapped, the word order stays
  // (low word first), as DCMTK and GDCM read explicit VR big endian.
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const w = words[i];
    out[i] = (((w & 0x00ff00ff) << 8) | ((w >>> 8) & 0x00ff00ff)) >>> 0;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// ImageMeta
// ---------------------------------------------------------------------------------------------------------

function buildMeta(parsed: Parsed): ImageMeta {
  const ds = parsed.dataset;
  const rows = int(ds.Rows);
  const cols = int(ds.Columns);
  const bitsAllocated = int(ds.BitsAllocated);
  const missing = [
    rows === undefined ? "Rows (0028,0010)" : "",
    cols === undefined ? "Columns (0028,0011)" : "",
    bitsAllocated === undefined ? "BitsAllocated (0028,0100)" : "",
  ].filter((s) => s !== "");
  if (missing.length > 0) {
    if (!parsed.hasPixelData) throw missingPixelData(ds);
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `The Image Pixel module is incomplete: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} ` +
        `missing or invalid, so the Pixel Data cannot be interpreted.`,
    );
  }
  if (rows! <= 0 || cols! <= 0) {
    throw new DicomDecodeError("INVALID_DICOM", `Invalid image size: ${rows} rows x ${cols} columns.`);
  }
  const framesValue = ds.NumberOfFrames;
  const frames = framesValue === undefined || framesValue === null || framesValue === ""
    ? 1
    : int(framesValue);
  if (frames === undefined || frames < 1) {
    throw new DicomDecodeError("INVALID_DICOM", `Invalid NumberOfFrames ${JSON.stringify(framesValue)}.`);
  }
  const samplesPerPixel = int(ds.SamplesPerPixel) ?? 1;
  const bitsStored = int(ds.BitsStored) ?? bitsAllocated!;
  const highBit = int(ds.HighBit) ?? bitsStored - 1;
  const pixelRepresentation = int(ds.PixelRepresentation) ?? 0;
  const photometric = (str(ds.PhotometricInterpretation) ?? (samplesPerPixel === 3 ? "RGB" : "MONOCHROME2"))
    .trim().toUpperCase();
  const planar = int(ds.PlanarConfiguration);

  const pixelTransform = functionalGroup(ds, "PixelValueTransformationSequence");
  const rescaleSource = ds.RescaleSlope !== undefined || ds.RescaleIntercept !== undefined
    ? ds
    : pixelTransform ?? ds;
  const rescaleSlope = num(rescaleSource.RescaleSlope) ?? 1;
  const rescaleIntercept = num(rescaleSource.RescaleIntercept) ?? 0;
  const rescaleType = str(rescaleSource.RescaleType);

  const voiSource = ds.WindowCenter !== undefined || ds.VOILUTSequence !== undefined
    ? ds
    : functionalGroup(ds, "FrameVOILUTSequence") ?? ds;
  const windows = parseWindows(voiSource);
  const lutOpts = { pixelRepresentation, bigEndian: parsed.transferSyntaxUid === EXPLICIT_BE };
  const modalityItems = items(ds.ModalityLUTSequence);
  const modalityLut = modalityItems.length > 0
    ? parseLut(modalityItems[0], "Modality LUT", lutOpts)
    : undefined;
  const voiItems = items(voiSource.VOILUTSequence);
  const voiLuts = voiItems.length > 0 ? voiItems.map((it) => parseLut(it, "VOI LUT", lutOpts)) : undefined;
  const voiLutFunction = str(voiSource.VOILUTFunction);

  const measures = functionalGroup(ds, "PixelMeasuresSequence");
  const spacing = nums(ds.PixelSpacing ?? measures?.PixelSpacing);
  const thickness = num(ds.SliceThickness ?? measures?.SliceThickness);
  const position = nums(
    ds.ImagePositionPatient ?? firstFrameGroup(ds, "PlanePositionSequence")?.ImagePositionPatient,
  );

  const dataset: Record<string, unknown> = { ...ds };
  delete dataset.PixelData;
  delete dataset.FloatPixelData;
  delete dataset.DoubleFloatPixelData;

  const meta: ImageMeta = {
    transferSyntaxUid: parsed.transferSyntaxUid,
    sopClassUid: str(ds.SOPClassUID),
    sopInstanceUid: str(ds.SOPInstanceUID),
    studyInstanceUid: str(ds.StudyInstanceUID),
    seriesInstanceUid: str(ds.SeriesInstanceUID),
    modality: str(ds.Modality),
    photometric,
    rows: rows!,
    cols: cols!,
    frames,
    samplesPerPixel,
    bitsAllocated: bitsAllocated!,
    bitsStored,
    highBit,
    pixelRepresentation,
    planarConfiguration: planar ?? (samplesPerPixel > 1 ? 0 : undefined),
    rescaleSlope,
    rescaleIntercept,
    rescaleType,
    modalityLut,
    windows,
    voiLuts,
    voiLutFunction: voiLutFunction?.toUpperCase(),
    presentationLutShape: str(ds.PresentationLUTShape)?.toUpperCase(),
    pixelSpacing: spacing && spacing.length >= 2 ? [spacing[0], spacing[1]] : undefined,
    sliceThickness: thickness,
    imagePositionPatient: position && position.length >= 3
      ? [position[0], position[1], position[2]]
      : undefined,
    instanceNumber: int(ds.InstanceNumber),
    dataset,
  };
  // Drop undefined optional fields so the object prints cleanly.
  for (const k of Object.keys(meta) as (keyof ImageMeta)[]) {
    if (meta[k] === undefined) delete (meta as unknown as Record<string, unknown>)[k];
  }
  return meta;
}

function parseWindows(src: Record<string, unknown>): WindowValue[] {
  const centers = nums(src.WindowCenter) ?? [];
  const widths = nums(src.WindowWidth) ?? [];
  const explanations = strs(src.WindowCenterWidthExplanation);
  const out: WindowValue[] = [];
  const n = Math.min(centers.length, widths.length);
  for (let i = 0; i < n; i++) {
    const explanation = explanations[i];
    out.push(
      explanation
        ? { center: centers[i], width: widths[i], explanation }
        : { center: centers[i], width: widths[i] },
    );
  }
  return out;
}

function parseLut(
  item: Record<string, unknown>,
  label: string,
  opts: { pixelRepresentation: number; bigEndian: boolean },
): LutTable {
  const descriptor = nums(item.LUTDescriptor);
  if (!descriptor || descriptor.length < 3) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `${label} Sequence item has no valid LUT Descriptor (0028,3002) (it needs 3 values: entries, first ` +
        `mapped value, bits).`,
    );
  }
  const entries = descriptor[0] === 0 ? 65536 : descriptor[0];
  let firstMapped = descriptor[1];
  // Encoded as US in most files; for signed pixel data the first mapped value is two's complement.
  if (opts.pixelRepresentation === 1 && firstMapped >= 0x8000) firstMapped -= 0x10000;
  const bits = descriptor[2];
  const data = lutData(item.LUTData, entries, bits, opts.bigEndian);
  if (data.length < entries) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `${label}: LUT Data (0028,3006) holds ${data.length} entries but the LUT Descriptor declares ${entries}.`,
    );
  }
  const explanation = str(item.LUTExplanation);
  const table: LutTable = {
    entries,
    firstMapped,
    bits,
    data: data.length > entries ? data.slice(0, entries) : data,
  };
  return explanation ? { ...table, explanation } : table;
}

function lutData(value: unknown, entries: number, bits: number, bigEndian: boolean): number[] {
  const parts = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (parts.length > 0 && parts.every((p) => typeof p === "number")) return parts as number[];
  const first = parts[0];
  let bytes: Uint8Array | undefined;
  if (first instanceof ArrayBuffer) bytes = new Uint8Array(first);
  else if (ArrayBuffer.isView(first)) {
    bytes = new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  }
  if (bytes === undefined) return [];
  if (bits <= 8 && (bytes.length === entries || bytes.length === entries + 1)) {
    // 8-bit entries packed two per 16-bit word.
    const out = new Array<number>(entries);
    for (let i = 0; i < entries; i++) out[i] = bytes[bigEndian ? i ^ 1 : i];
    return out;
  }
  const n = bytes.length >> 1;
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) out[i] = v.getUint16(i * 2, !bigEndian);
  return out;
}

/** The macro item from SharedFunctionalGroupsSequence, else from per-frame groups when all frames agree. */
function functionalGroup(ds: Record<string, unknown>, macro: string): Record<string, unknown> | undefined {
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  const fromShared = shared ? items(shared[macro])[0] : undefined;
  if (fromShared) return fromShared;
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence).map((f) => items(f[macro])[0]);
  if (perFrame.length === 0 || perFrame.some((x) => x === undefined)) return undefined;
  const first = JSON.stringify(perFrame[0]);
  return perFrame.every((x) => JSON.stringify(x) === first) ? perFrame[0] : undefined;
}

function firstFrameGroup(ds: Record<string, unknown>, macro: string): Record<string, unknown> | undefined {
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  const fromShared = shared ? items(shared[macro])[0] : undefined;
  if (fromShared) return fromShared;
  const frame = items(ds.PerFrameFunctionalGroupsSequence)[0];
  return frame ? items(frame[macro])[0] : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Naturalized value helpers (dcmjs gives numbers for DS/IS/US, arrays when multi-valued)
// ---------------------------------------------------------------------------------------------------------

function items(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v)) {
    return v.filter((x) => typeof x === "object" && x !== null) as Record<string, unknown>[];
  }
  if (typeof v === "object" && v !== null && !(v instanceof ArrayBuffer)) {
    return [v as Record<string, unknown>];
  }
  return [];
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

function nums(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : typeof v === "string" ? v.split("\\") : [v];
  const out: number[] = [];
  for (const x of list) {
    const n = toNumber(x);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out;
}

function num(v: unknown): number | undefined {
  const list = nums(v);
  return list && list.length > 0 ? list[0] : undefined;
}

function int(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

function str(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  if (typeof x === "string") {
    const s = x.trim();
    return s === "" ? undefined : s;
  }
  if (typeof x === "number") return String(x);
  return undefined;
}

function strs(v: unknown): (string | undefined)[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list.map((x) => (typeof x === "string" && x.trim() !== "" ? x.trim() : undefined));
}
