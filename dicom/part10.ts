/**
 * The Part 10 envelope (PS3.10 7.1): preamble, "DICM" prefix and File Meta Information (group 0002), and
 * the files in the wild that lack some of it.
 *
 * {@link readPart10} finds where the file meta and the data set start in a standard file (128-byte preamble
 * and "DICM"), a file that starts with "DICM" (no preamble), one that starts with the file meta group itself,
 * and a bare data set (ACR-NEMA style, no file meta: its first element tells implicit or explicit VR, little
 * or big endian). The file meta is read element by element, as DCMTK and pydicom do: a File Meta Information
 * Group Length (0002,0000) that disagrees with the elements is a warning, not a failure.
 *
 * {@link wrapDataset} writes the other way: a minimal Part 10 file around data set bytes (for dcmjs).
 *
 * @module
 */
import { DicomDecodeError, truncatedError } from "./errors.ts";
import { EXPLICIT_BE, EXPLICIT_LE, IMPLICIT_LE } from "./syntaxes.ts";
import { tagText } from "./tags.ts";
import { LONG_VRS, vrAt } from "./vr.ts";

const PREAMBLE = 128;
const DICM = [0x44, 0x49, 0x43, 0x4d];

/** Where things are in a file. */
export interface Part10 {
  /** How the file begins. */
  readonly layout: "part10" | "no preamble" | "meta without DICM" | "bare data set";
  /** Offset of the first data set element. */
  readonly datasetStart: number;
  /** Transfer Syntax UID from the file meta, or read from the first element of a bare data set. */
  readonly transferSyntaxUid?: string;
  /** The file meta information has no Transfer Syntax UID (or there is none): it must be inferred. */
  readonly guessedSyntax: boolean;
  /** What was read past in the file meta. */
  readonly warnings: ReadonlyArray<string>;
}

/**
 * Finds the file meta and the data set.
 *
 * @throws DicomDecodeError NOT_DICOM (neither a Part 10 file nor a bare data set), TRUNCATED (ends inside the
 *   file meta), INVALID_DICOM (file meta damaged beyond reading)
 */
export function readPart10(bytes: Uint8Array): Part10 {
  if (bytes.length === 0) {
    throw new DicomDecodeError("NOT_DICOM", "Not a DICOM file: the input is empty (0 bytes).");
  }
  if (hasDicm(bytes, PREAMBLE)) return readFileMeta(bytes, PREAMBLE + 4, "part10");
  if (hasDicm(bytes, 0)) return readFileMeta(bytes, 4, "no preamble");
  if (bytes.length >= 8 && bytes[0] === 0x02 && bytes[1] === 0x00 && vrAt(bytes, 4) !== undefined) {
    return readFileMeta(bytes, 0, "meta without DICM");
  }
  const syntax = bareSyntax(bytes);
  if (syntax === undefined) throw notDicom(bytes);
  return {
    layout: "bare data set",
    datasetStart: 0,
    transferSyntaxUid: syntax,
    guessedSyntax: false,
    warnings: [],
  };
}

function hasDicm(b: Uint8Array, at: number): boolean {
  return b.length >= at + 4 && DICM.every((c, i) => b[at + i] === c);
}

/** The syntax of a bare data set from its first element (group 0008), or undefined. */
function bareSyntax(b: Uint8Array): string | undefined {
  if (b.length < 8) return undefined;
  const group = b[0] | (b[1] << 8);
  const element = b[2] | (b[3] << 8);
  const explicit = vrAt(b, 4) !== undefined;
  if (group === 0x0008 && element <= 0x0020) return explicit ? EXPLICIT_LE : IMPLICIT_LE;
  const groupBE = (b[0] << 8) | b[1];
  const elementBE = (b[2] << 8) | b[3];
  if (groupBE === 0x0008 && elementBE <= 0x0020 && explicit) return EXPLICIT_BE;
  return undefined;
}

/** Not DICOM: says what was looked for and what the file starts with. */
function notDicom(bytes: Uint8Array): DicomDecodeError {
  const printable = Array.from(
    bytes.subarray(0, 16),
    (c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : "."),
  ).join("");
  const hex = Array.from(bytes.subarray(0, 8), (c) => c.toString(16).padStart(2, "0")).join(" ");
  return new DicomDecodeError(
    "NOT_DICOM",
    `Not a DICOM file: there is no "DICM" prefix at byte 128 (nor at byte 0), and the first bytes (${hex}, ` +
      `"${printable}") are not the start of a file meta group or of a bare DICOM data set (${bytes.length} ` +
      "bytes in all). If it is an image in another format, convert it to DICOM first.",
  );
}

/** Reads group 0002 (explicit VR little endian) element by element from `start`. */
function readFileMeta(bytes: Uint8Array, start: number, layout: Part10["layout"]): Part10 {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const warnings: string[] = [];
  let pos = start;
  let uid: string | undefined;
  let declaredEnd: number | undefined;
  const seen = new Set<number>();
  while (pos + 8 <= bytes.length && v.getUint16(pos, true) === 0x0002) {
    const element = v.getUint16(pos + 2, true);
    const vr = vrAt(bytes, pos + 4);
    if (vr === undefined) {
      if (declaredEnd !== undefined && declaredEnd > pos && declaredEnd <= bytes.length) {
        warnings.push(
          `File meta element ${
            tagText(0x00020000 | element)
          } at byte ${pos} is damaged (no valid VR); the rest ` +
            `of the file meta was skipped to where (0002,0000) FileMetaInformationGroupLength says it ends ` +
            `(byte ${declaredEnd}).`,
        );
        pos = declaredEnd;
        break;
      }
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `The file meta information is damaged: element ${tagText(0x00020000 | element)} at byte ${pos} has ` +
          "no valid value representation, and there is no usable group length to skip it. Ask the sender " +
          "for a valid copy.",
      );
    }
    const long = LONG_VRS.has(vr);
    if (long && pos + 12 > bytes.length) throw metaTruncated(pos + 12, bytes.length);
    const length = long ? v.getUint32(pos + 8, true) : v.getUint16(pos + 6, true);
    const valueAt = pos + (long ? 12 : 8);
    const end = valueAt + length;
    if (length === 0xffffffff) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `The file meta information is damaged: ${tagText(0x00020000 | element)} at byte ${pos} has an ` +
          "undefined length (file meta elements always have explicit lengths). Ask the sender for a valid copy.",
      );
    }
    if (end > bytes.length) throw metaTruncated(end, bytes.length);
    if (seen.has(element)) {
      warnings.push(
        `File meta element ${
          tagText(0x00020000 | element)
        } appears twice (again at byte ${pos}); the last one ` +
          "is used.",
      );
    }
    seen.add(element);
    if (element === 0x0000 && length === 4) declaredEnd = end + v.getUint32(valueAt, true);
    if (element === 0x0010) uid = cleanUid(bytes.subarray(valueAt, end));
    pos = end;
  }
  if (declaredEnd !== undefined && declaredEnd !== pos) {
    warnings.push(
      `(0002,0000) FileMetaInformationGroupLength says the file meta ends at byte ${declaredEnd}, but its ` +
        `elements end at byte ${pos}; the elements were read one by one (the group length is wrong).`,
    );
  }
  if (pos + 8 > bytes.length) {
    throw truncatedError("the data set after the file meta information", pos + 8, bytes.length);
  }
  return { layout, datasetStart: pos, transferSyntaxUid: uid, guessedSyntax: uid === undefined, warnings };
}

function metaTruncated(needed: number, length: number): DicomDecodeError {
  return truncatedError("an element of the file meta information (group 0002)", needed, length);
}

/** A UID value without its padding; non-printable bytes shown as "?"; undefined when empty. */
function cleanUid(b: Uint8Array): string | undefined {
  let s = "";
  for (let i = 0; i < b.length; i++) s += b[i] >= 0x20 && b[i] < 0x7f ? String.fromCharCode(b[i]) : "\0";
  s = s.replace(/[\0 ]+$/, "").trim().replace(/\0/g, "?");
  return s === "" ? undefined : s;
}

/** The syntax of a data set whose file meta names none: explicit VR when its first element has a VR. */
export function guessSyntax(bytes: Uint8Array, datasetStart: number): string {
  return vrAt(bytes, datasetStart + 4) !== undefined ? EXPLICIT_LE : IMPLICIT_LE;
}

/** Preamble + "DICM" + a minimal file meta group naming `uid`, followed by the data set bytes. */
export function wrapDataset(dataset: Uint8Array, uid: string): Uint8Array {
  const uidBytes = uid.length % 2 === 0 ? uid : uid + "\0";
  // (0002,0000) UL 4 <len> + (0002,0010) UI <len> <uid>
  const metaLength = 8 + uidBytes.length;
  const out = new Uint8Array(PREAMBLE + 4 + 12 + metaLength + dataset.length);
  const v = new DataView(out.buffer);
  let p = PREAMBLE;
  out.set(DICM, p);
  p += 4;
  v.setUint32(p, 0x00000002, true); // (0002,0000)
  out.set([0x55, 0x4c], p + 4); // UL
  v.setUint16(p + 6, 4, true);
  v.setUint32(p + 8, metaLength, true);
  p += 12;
  v.setUint32(p, 0x00100002, true); // (0002,0010)
  out.set([0x55, 0x49], p + 4); // UI
  v.setUint16(p + 6, uidBytes.length, true);
  for (let i = 0; i < uidBytes.length; i++) out[p + 8 + i] = uidBytes.charCodeAt(i);
  out.set(dataset, p + 8 + uidBytes.length);
  return out;
}
