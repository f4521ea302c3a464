/**
 * The DICOM container: preamble, file meta information, element structure, and the pixel elements.
 *
 * {@link parseContainer} walks the element structure once without interpreting values (every length must
 * fit inside the file, every undefined-length sequence and item must be closed: dcmjs silently reads past
 * the end of a cut-short file), finds the pixel elements at the top level, and hands the header (everything
 * before the pixel data group) to dcmjs for the attribute values. Pixel data is never copied: native values
 * and encapsulated fragments are views into the input.
 *
 * Files in the wild: a bare data set without preamble and file meta (read as DCMTK does: implicit VR little
 * endian, or explicit when the first element carries a VR), a file meta group without preamble, a file meta
 * group without (0002,0000) group length or without Transfer Syntax UID (guessed from the data set, and for
 * encapsulated pixel data from the codec's start marker), private sequences and undefined-length UN
 * sequences (PS3.5 6.2.2) are read; anything ambiguous is a coded error.
 *
 * @module
 */
import dcmjs from "dcmjs";
import { inferEncapsulatedSyntax } from "./encapsulated.ts";
import { DicomDecodeError, errorText } from "./errors.ts";
import {
  DEFLATED_LE,
  EXPLICIT_BE,
  EXPLICIT_LE,
  IMPLICIT_LE,
  isEncapsulated,
  syntaxLabel,
} from "./syntaxes.ts";

/** Which element held the pixels. */
export type PixelTag = "PixelData" | "FloatPixelData" | "DoubleFloatPixelData";

/** The top-level pixel element of a data set, as views into the file. */
export interface PixelElement {
  readonly tag: PixelTag;
  /** VR as encoded (explicit syntaxes only). */
  readonly vr?: string;
  /** Native pixel data: the value bytes present in the file (fewer than declared when it is truncated). */
  readonly value?: Uint8Array;
  /** Native pixel data: the declared value length. */
  readonly declaredLength?: number;
  /** Encapsulated pixel data: the item values in order; item 0 is the Basic Offset Table. */
  readonly items?: ReadonlyArray<Uint8Array>;
}

/** The parsed container. */
export interface Container {
  readonly transferSyntaxUid: string;
  /** The file meta information had no Transfer Syntax UID: it was inferred from the data set. */
  readonly guessedSyntax: boolean;
  /** Naturalized attributes (dcmjs), without the pixel elements. */
  readonly dataset: Record<string, unknown>;
  /** Pixel Data, Float Pixel Data or Double Float Pixel Data; absent for header-only parses of large files. */
  readonly pixel?: PixelElement;
  /** Whether the data set has a pixel element (also known when only the header was parsed). */
  readonly hasPixelData: boolean;
  /** Extended Offset Table (7FE0,0001) and Extended Offset Table Lengths (7FE0,0002) values, when present. */
  readonly extendedOffsets?: { readonly offsets: Uint8Array; readonly lengths: Uint8Array };
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

// ---------------------------------------------------------------------------------------------------------
// Container parse
// ---------------------------------------------------------------------------------------------------------

const PREAMBLE = 128;
const PIXEL_DATA_TAG = "7FE00010";
const PIXEL_TAGS: Readonly<Record<string, PixelTag>> = {
  "7FE00010": "PixelData",
  "7FE00008": "FloatPixelData",
  "7FE00009": "DoubleFloatPixelData",
};

/**
 * Parses the container. With `headerOnly`, the walk stops at the pixel data (which is then neither read
 * nor checked), so any transfer syntax can be summarised.
 *
 * @throws DicomDecodeError
 */
export function parseContainer(bytes: Uint8Array, headerOnly: boolean): Container {
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

  let walk: WalkResult;
  try {
    walk = walkFile(file, headerOnly);
  } catch (e) {
    // A file without the DICM prefix that does not walk cleanly is most likely not DICOM at all.
    if (raw && e instanceof DicomDecodeError) throw notDicom(bytes, ` (${e.message})`);
    throw e;
  }
  let transferSyntaxUid = walk.transferSyntaxUid;
  // No Transfer Syntax UID, and encapsulated pixel data: the codec's start marker tells the syntax family.
  if (walk.guessedSyntax && walk.pixel?.items) transferSyntaxUid = inferEncapsulatedSyntax(walk.pixel.items);
  const encapsulatedSyntax = isEncapsulated(transferSyntaxUid);
  if (!headerOnly && walk.pixel?.items && encapsulatedSyntax === false) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `Pixel Data has an undefined length (encapsulated fragments), but the transfer syntax ` +
        `${syntaxLabel(transferSyntaxUid)} is not an encapsulated one: the Transfer Syntax UID in the file ` +
        "meta is probably wrong. Fix it (e.g. with `dcmodify`/`gdcmconv`) or ask the sender for a valid file.",
    );
  }
  if (!headerOnly && walk.pixel?.tag === "PixelData" && !walk.pixel.items && encapsulatedSyntax === true) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `Pixel Data has a defined length (native, uncompressed), but the transfer syntax ` +
        `${syntaxLabel(transferSyntaxUid)} requires encapsulated fragments: the Transfer Syntax UID in the ` +
        "file meta is probably wrong. Fix it (e.g. with `dcmodify`/`gdcmconv`) or ask the sender.",
    );
  }

  // The header for dcmjs: everything before the pixel data group (never the pixels themselves), except for
  // deflated files, whose data set the walk cannot look into.
  let header = file;
  if (transferSyntaxUid !== DEFLATED_LE && walk.pixelGroupStart !== undefined) {
    header = file.subarray(0, walk.pixelGroupStart);
  }
  // dcmjs cannot read undefined-length UN sequences (PS3.5 6.2.2: their items are implicit VR): hand it
  // each one as an opaque defined-length OB value of the same size instead (nothing moves).
  if (walk.unSequences.length > 0) header = opaqueUnSequences(header, walk.unSequences);
  // No Transfer Syntax UID in the file meta: it was inferred; dcmjs needs it written.
  if (walk.guessedSyntax) header = wrapDataset(header.subarray(walk.datasetStart), transferSyntaxUid);

  const deflated = transferSyntaxUid === DEFLATED_LE;
  const { dataset, dict, pixelSeen } = readWithDcmjs(header, transferSyntaxUid, headerOnly || !deflated);
  if (!deflated) {
    return {
      transferSyntaxUid,
      guessedSyntax: walk.guessedSyntax,
      dataset,
      pixel: walk.pixel,
      hasPixelData: walk.pixel !== undefined,
      extendedOffsets: walk.extendedOffsets,
    };
  }
  // Deflated: dcmjs inflated the data set and read the pixel values too.
  const pixel = pixelFromDcmjs(dataset, dict);
  for (const tag of ["PixelData", "FloatPixelData", "DoubleFloatPixelData"]) delete dataset[tag];
  return {
    transferSyntaxUid,
    guessedSyntax: walk.guessedSyntax,
    dataset,
    pixel,
    hasPixelData: pixel !== undefined || pixelSeen,
  };
}

/** A copy of `bytes` where each undefined-length UN element is a defined-length OB of the same bytes. */
function opaqueUnSequences(bytes: Uint8Array, list: ReadonlyArray<UnSequence>): Uint8Array {
  const out = new Uint8Array(bytes); // a copy (Buffer#slice would be a view)
  const v = new DataView(out.buffer);
  for (const { at, end } of list) {
    if (end > out.length) continue; // past the header handed to dcmjs
    out[at + 4] = 0x4f; // "O"
    out[at + 5] = 0x42; // "B"
    v.setUint32(at + 8, end - (at + 12), true);
  }
  return out;
}

function readWithDcmjs(
  file: Uint8Array,
  transferSyntaxUid: string,
  untilPixelData: boolean,
): { dataset: Record<string, unknown>; dict: DcmjsDict; pixelSeen: boolean } {
  const buffer =
    file.byteOffset === 0 && file.byteLength === file.buffer.byteLength && file.buffer instanceof ArrayBuffer
      ? file.buffer
      : new Uint8Array(file).buffer; // a copy: Node/Bun Buffer#slice() is a view
  const options: DcmjsReadOptions = {
    ignoreErrors: false,
    untilTag: untilPixelData ? PIXEL_DATA_TAG : null,
    includeUntilTagValue: false,
    noCopy: false,
    forceStoreRaw: false,
  };
  const read = (opts: DcmjsReadOptions) => quietly(() => DCMJS.data.DicomMessage.readFile(buffer, opts));
  try {
    let message: { meta: DcmjsDict; dict: DcmjsDict };
    try {
      message = read(options);
    } catch (e) {
      // Recoverable oddities: no (0002,0000) group length, or an unknown Specific Character Set. The
      // structure walk has already checked every element length, so a lenient parse is safe here.
      if (!/character set|meta length/i.test(errorText(e))) throw e;
      message = read({ ...options, ignoreErrors: true });
    }
    const dict = message.dict;
    const pixelSeen = PIXEL_DATA_TAG in dict;
    if (untilPixelData) delete dict[PIXEL_DATA_TAG];
    // Extended Offset Table values are taken from the file bytes, not from dcmjs.
    delete dict["7FE00001"];
    delete dict["7FE00002"];
    const dataset = quietly(() => DCMJS.data.DicomMetaDictionary.naturalizeDataset(dict));
    return { dataset, dict, pixelSeen };
  } catch (e) {
    throw dcmjsFailure(e, transferSyntaxUid);
  }
}

/** The pixel element of a deflated data set, from the values dcmjs read. */
function pixelFromDcmjs(ds: Record<string, unknown>, dict: DcmjsDict): PixelElement | undefined {
  for (const [hex, tag] of Object.entries(PIXEL_TAGS)) {
    const value = ds[tag];
    if (value === undefined) continue;
    const parts = Array.isArray(value) ? value : [value];
    if (parts.length > 1) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `${tag} is split into ${parts.length} fragments although the transfer syntax is uncompressed.`,
      );
    }
    const first = parts[0];
    let bytes: Uint8Array | undefined;
    if (first instanceof ArrayBuffer) bytes = new Uint8Array(first);
    else if (ArrayBuffer.isView(first)) {
      bytes = new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
    }
    if (bytes === undefined) {
      throw new DicomDecodeError("INVALID_DICOM", `${tag} is empty or unreadable.`);
    }
    return { tag, vr: dict[hex]?.vr, value: bytes, declaredLength: bytes.length };
  }
  return undefined;
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

// ---------------------------------------------------------------------------------------------------------
// Structure walk
// ---------------------------------------------------------------------------------------------------------

/** An undefined-length UN element (explicit VR little endian): its header offset and the end of its value. */
interface UnSequence {
  readonly at: number;
  readonly end: number;
}

interface WalkContext {
  readonly bytes: Uint8Array;
  /** Undefined-length UN elements found (shared with nested contexts). */
  readonly unSequences: UnSequence[];
  readonly little: boolean;
  readonly explicit: boolean;
  readonly stopAtPixelData: boolean;
  /** The transfer syntax is being guessed (no Transfer Syntax UID in the file meta). */
  readonly guessing: boolean;
  pixel?: PixelElement;
  /** Offset of the first top-level element of group 7FE0. */
  pixelGroupStart?: number;
  eotOffsets?: Uint8Array;
  eotLengths?: Uint8Array;
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

interface WalkResult {
  readonly transferSyntaxUid: string;
  /** True when the file meta has no Transfer Syntax UID and it was inferred from the data set. */
  readonly guessedSyntax: boolean;
  /** Byte offset of the first data set element. */
  readonly datasetStart: number;
  readonly pixel?: PixelElement;
  readonly pixelGroupStart?: number;
  readonly extendedOffsets?: { readonly offsets: Uint8Array; readonly lengths: Uint8Array };
  readonly unSequences: ReadonlyArray<UnSequence>;
}

/**
 * Walks the element structure (file meta, then the data set) without interpreting values. Returns the
 * transfer syntax read from the file meta and the pixel elements. Native Pixel Data that is cut short is
 * left for the pixel stage to report (with expected vs present byte counts); encapsulated pixel data that is
 * cut short is TRUNCATED here.
 */
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
        `Malformed file meta information: (0002,${hex4(element)}) has an undefined length.`,
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
    return { transferSyntaxUid, guessedSyntax, datasetStart: pos, unSequences: [] };
  }
  const ctx: WalkContext = {
    bytes,
    unSequences: [],
    little: transferSyntaxUid !== EXPLICIT_BE,
    explicit: transferSyntaxUid !== IMPLICIT_LE,
    stopAtPixelData: headerOnly,
    guessing: guessedSyntax,
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
  const extendedOffsets = ctx.eotOffsets && ctx.eotLengths
    ? { offsets: ctx.eotOffsets, lengths: ctx.eotLengths }
    : undefined;
  return {
    transferSyntaxUid,
    guessedSyntax,
    datasetStart: pos,
    pixel: ctx.pixel,
    pixelGroupStart: ctx.pixelGroupStart,
    extendedOffsets,
    unSequences: ctx.unSequences,
  };
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
    const topPixelGroup = depth === 0 && group === 0x7fe0;
    if (topPixelGroup && ctx.pixelGroupStart === undefined) ctx.pixelGroupStart = pos;
    const pixelTag = topPixelGroup ? PIXEL_TAGS[`7FE0${hex4(element)}`] : undefined;
    if (pixelTag && ctx.stopAtPixelData) {
      const vr = explicit ? String.fromCharCode(bytes[pos + 4], bytes[pos + 5]) : undefined;
      ctx.pixel = { tag: pixelTag, vr };
      // Without a Transfer Syntax UID, encapsulated fragments tell the codec: read their item headers.
      const lengthAt = explicit ? pos + 8 : pos + 4;
      if (ctx.guessing && pos + 12 <= bytes.length && v.getUint32(lengthAt, little) === UNDEFINED_LENGTH) {
        const items: Uint8Array[] = [];
        try {
          walkFragments(ctx, v, explicit ? pos + 12 : pos + 8, tag, pos, items);
          ctx.pixel = { tag: pixelTag, vr, items };
        } catch {
          // cut short or malformed: the header is still readable
        }
      }
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
      if (pixelTag === "PixelData") {
        const items: Uint8Array[] = [];
        pos = walkFragments(ctx, v, pos, tag, start, items);
        ctx.pixel = { tag: pixelTag, vr, items };
      } else if (!explicit || vr === "SQ") {
        pos = walkItems(ctx, v, pos, depth + 1, tag, start);
      } else if (vr === "UN") {
        // Undefined-length UN: a sequence encoded in implicit VR little endian (PS3.5 6.2.2).
        const inner: WalkContext = { ...ctx, little: true, explicit: false };
        pos = walkItems(inner, v, pos, depth + 1, tag, start);
        if (little) ctx.unSequences.push({ at: start, end: pos });
      } else {
        throw new DicomDecodeError(
          "INVALID_DICOM",
          `Data element ${tag} at byte ${start} has an undefined length but VR ${vr}.`,
        );
      }
      continue;
    }
    if (pixelTag) {
      ctx.pixel = {
        tag: pixelTag,
        vr,
        value: bytes.subarray(pos, Math.min(pos + length, bytes.length)),
        declaredLength: length,
      };
      // Cut short: reported with expected/present counts by the pixel stage.
      if (pos + length > bytes.length) return bytes.length;
    }
    if (pos + length > bytes.length) {
      throw truncated(`data element ${tag} at byte ${start} (${length} bytes of value)`, pos + length, bytes);
    }
    if (topPixelGroup && element === 0x0001) ctx.eotOffsets = bytes.subarray(pos, pos + length);
    if (topPixelGroup && element === 0x0002) ctx.eotLengths = bytes.subarray(pos, pos + length);
    pos += length;
  }
  if (inItem) throw truncated("an unterminated sequence item", bytes.length + 8, bytes);
  return pos;
}

/** Walks the items of an undefined-length sequence up to its delimiter. */
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
    const { element, length } = itemHeader(
      v,
      pos,
      little,
      `Malformed sequence ${owner}: expected an item or sequence delimiter`,
    );
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

/**
 * Reads the 8-byte header of an item (FFFE,E000) or sequence delimiter (FFFE,E0DD) at `pos`; anything else
 * is INVALID_DICOM, `expected` saying what the caller was looking for.
 */
function itemHeader(
  v: DataView,
  pos: number,
  little: boolean,
  expected: string,
): { readonly element: number; readonly length: number } {
  const group = v.getUint16(pos, little);
  const element = v.getUint16(pos + 2, little);
  if (group !== 0xfffe || (element !== 0xe000 && element !== 0xe0dd)) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `${expected} at byte ${pos}, found (${hex4(group)},${hex4(element)}).`,
    );
  }
  return { element, length: v.getUint32(pos + 4, little) };
}

/** Walks encapsulated Pixel Data (PS3.5 A.4): defined-length items up to the sequence delimiter. */
function walkFragments(
  ctx: WalkContext,
  v: DataView,
  pos: number,
  owner: string,
  ownerAt: number,
  items: Uint8Array[],
): number {
  const { bytes, little } = ctx;
  for (;;) {
    if (pos + 8 > bytes.length) {
      throw truncated(
        `the encapsulated Pixel Data ${owner} that starts at byte ${ownerAt} (its sequence delimiter is ` +
          `missing after ${items.length} item(s))`,
        pos + 8,
        bytes,
      );
    }
    const { element, length } = itemHeader(
      v,
      pos,
      little,
      "Malformed encapsulated Pixel Data: expected a fragment item or sequence delimiter",
    );
    pos += 8;
    if (element === 0xe0dd) return pos;
    if (length === UNDEFINED_LENGTH) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `Malformed encapsulated Pixel Data: fragment item ${items.length} at byte ${pos - 8} has an ` +
          "undefined length (fragments must have explicit lengths).",
      );
    }
    if (pos + length > bytes.length) {
      throw truncated(
        `${items.length === 0 ? "the Basic Offset Table" : `fragment ${items.length}`} of the encapsulated ` +
          `Pixel Data at byte ${pos - 8} (${length} bytes)`,
        pos + length,
        bytes,
      );
    }
    items.push(bytes.subarray(pos, pos + length));
    pos += length;
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}
