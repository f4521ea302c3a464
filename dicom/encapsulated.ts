/**
 * Encapsulated Pixel Data (PS3.5 A.4): which fragments make up which frame.
 *
 * Item 0 of the pixel data sequence is the Basic Offset Table (possibly empty); the rest are fragments. A
 * frame is one or more consecutive fragments. Frame boundaries come from, in order of preference:
 *
 * 1. a single frame: all fragments;
 * 2. the Extended Offset Table (7FE0,0001) with its lengths (7FE0,0002);
 * 3. a non-empty Basic Offset Table;
 * 4. as many fragments as frames: one fragment per frame;
 * 5. more fragments than frames: a new frame starts at each fragment that begins with the codec's start
 *    marker (JPEG / JPEG-LS SOI, JPEG 2000 SOC+SIZ or a JP2 signature box).
 *
 * Anything else (offsets that do not point at fragments, fewer fragments than frames, start markers that do
 * not add up) is an INVALID_DICOM error, never a guess.
 *
 * @module
 */
import { concatBytes } from "./bytes.ts";
import { findJpegSof } from "./codecs/jpeg_markers.ts";
import { DicomDecodeError } from "./errors.ts";
import type { PixelEncoding } from "./syntaxes.ts";
import { syntaxLabel } from "./syntaxes.ts";

/** Where the frame boundaries of an encapsulated image came from. */
export type FrameIndex =
  | "single frame"
  | "extended offset table"
  | "basic offset table"
  | "one fragment per frame"
  | "start markers";

/** The compressed frames of an image, each a view into the file (or a copy when split into fragments). */
export interface EncapsulatedFrames {
  readonly frames: ReadonlyArray<Uint8Array>;
  /** Number of fragments (items after the Basic Offset Table). */
  readonly fragments: number;
  readonly index: FrameIndex;
}

/** The codec family whose start marker `data` begins with, or undefined. */
export function sniffEncoding(data: Uint8Array): PixelEncoding | undefined {
  if (data.length >= 4 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) {
    // JPEG-LS has its own SOF (FFF7); everything else with an SOI is a JPEG process.
    return findJpegSof(data) === 0xf7 ? "jpegls" : "jpeg";
  }
  if (isJ2kStart(data)) return hasHtCapability(data) ? "htj2k" : "j2k";
  if (data.length >= 64) {
    const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const segments = v.getUint32(0, true);
    if (segments >= 1 && segments <= 15 && v.getUint32(4, true) === 64) return "rle";
  }
  return undefined;
}

/** Transfer syntax for encapsulated pixel data in a file whose meta has no Transfer Syntax UID. */
export function inferEncapsulatedSyntax(items: ReadonlyArray<Uint8Array>): string {
  const first = items[1];
  const family = first ? sniffEncoding(first) : undefined;
  const uid = family === undefined ? undefined : INFERRED[family];
  if (uid === undefined) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      "The file meta information has no Transfer Syntax UID (0002,0010) and the Pixel Data is encapsulated, " +
        "but its first fragment does not start with a marker that identifies the codec. Add the right " +
        'Transfer Syntax UID (e.g. `dcmodify -i "(0002,0010)=..."`) or ask the sender for a valid file.',
    );
  }
  if (family === "jpeg") {
    // The SOF marker tells the JPEG process.
    const sof = findJpegSof(first);
    if (sof === 0xc3) return "1.2.840.10008.1.2.4.57";
    if (sof === 0xc1) return "1.2.840.10008.1.2.4.51";
  }
  return uid;
}

const INFERRED: Readonly<Partial<Record<PixelEncoding, string>>> = {
  jpeg: "1.2.840.10008.1.2.4.50",
  jpegls: "1.2.840.10008.1.2.4.81",
  j2k: "1.2.840.10008.1.2.4.91",
  htj2k: "1.2.840.10008.1.2.4.203",
  rle: "1.2.840.10008.1.2.5",
};

/**
 * Splits encapsulated pixel data into frames.
 *
 * @param items the pixel data items; item 0 is the Basic Offset Table
 * @param frames NumberOfFrames
 * @param extended the Extended Offset Table and its lengths (raw little-endian 64-bit values), when present
 * @throws DicomDecodeError INVALID_DICOM when the frame boundaries cannot be determined
 */
export function splitFrames(
  items: ReadonlyArray<Uint8Array>,
  frames: number,
  encoding: PixelEncoding,
  transferSyntaxUid: string,
  extended?: { readonly offsets: Uint8Array; readonly lengths: Uint8Array },
): EncapsulatedFrames {
  const fragments = items.slice(1);
  const bad = (msg: string) => new DicomDecodeError("INVALID_DICOM", `Encapsulated Pixel Data: ${msg}`);
  if (fragments.length === 0) {
    const syntax = syntaxLabel(transferSyntaxUid);
    throw bad(
      `there are no fragments after the Basic Offset Table, so there is no ${syntax} data to decode.`,
    );
  }
  const result = (list: Uint8Array[], index: FrameIndex): EncapsulatedFrames => ({
    frames: list,
    fragments: fragments.length,
    index,
  });
  if (frames === 1) return result([concatBytes(fragments)], "single frame");

  // An offset table that does not fit the fragments (seen in the wild, e.g. offsets that forget the pad
  // byte of odd-length frames) is ignored when the frames are unambiguous without it.
  const withoutTable = (error: DicomDecodeError): EncapsulatedFrames => {
    if (fragments.length === frames) return result(fragments, "one fragment per frame");
    const list = splitByMarkers(fragments, frames, encoding);
    if (list) return result(list, "start markers");
    throw error;
  };

  if (extended) {
    try {
      const offsets = readUint64s(extended.offsets, "Extended Offset Table (7FE0,0001)");
      const lengths = readUint64s(extended.lengths, "Extended Offset Table Lengths (7FE0,0002)");
      if (offsets.length !== frames || lengths.length !== frames) {
        throw bad(
          `the Extended Offset Table has ${offsets.length} offsets and ${lengths.length} lengths, but ` +
            `NumberOfFrames is ${frames}.`,
        );
      }
      const list = framesFromOffsets(fragments, offsets, "Extended Offset Table", bad);
      // The lengths exclude the padding byte of odd-length frames.
      return result(
        list.map((f, i) => (lengths[i] <= f.length ? f.subarray(0, lengths[i]) : f)),
        "extended offset table",
      );
    } catch (e) {
      if (!(e instanceof DicomDecodeError)) throw e;
      return withoutTable(e);
    }
  }

  const bot = items[0];
  if (bot.length > 0) {
    try {
      if (bot.length % 4 !== 0) {
        throw bad(`the Basic Offset Table has ${bot.length} bytes (not a multiple of 4).`);
      }
      const v = new DataView(bot.buffer, bot.byteOffset, bot.byteLength);
      const offsets = Array.from({ length: bot.length / 4 }, (_, i) => v.getUint32(4 * i, true));
      if (offsets.length !== frames) {
        throw bad(`the Basic Offset Table has ${offsets.length} entries, but NumberOfFrames is ${frames}.`);
      }
      return result(framesFromOffsets(fragments, offsets, "Basic Offset Table", bad), "basic offset table");
    } catch (e) {
      if (!(e instanceof DicomDecodeError)) throw e;
      return withoutTable(e);
    }
  }

  if (fragments.length === frames) return result(fragments, "one fragment per frame");
  if (fragments.length < frames) {
    throw bad(
      `NumberOfFrames is ${frames} but there are only ${fragments.length} fragment(s) and no offset table: ` +
        "frames are missing (or NumberOfFrames is wrong).",
    );
  }
  // More fragments than frames and no offset table: frames start where the codec's start marker is.
  const list = splitByMarkers(fragments, frames, encoding);
  if (list) return result(list, "start markers");
  throw bad(
    `${fragments.length} fragments for ${frames} frames and no offset table, and the fragments that begin ` +
      `with a ${encoding} start marker do not make ${frames} frames: the frame boundaries cannot be determined.`,
  );
}

/** Groups fragments into frames at the codec's start markers; undefined unless that gives `frames` frames. */
function splitByMarkers(
  fragments: ReadonlyArray<Uint8Array>,
  frames: number,
  encoding: PixelEncoding,
): Uint8Array[] | undefined {
  const starts: number[] = [];
  fragments.forEach((f, i) => {
    if (isFrameStart(f, encoding)) starts.push(i);
  });
  if (starts.length !== frames || starts[0] !== 0) return undefined;
  return starts.map((s, k) =>
    concatBytes(fragments.slice(s, k + 1 < starts.length ? starts[k + 1] : undefined))
  );
}

/** Frames from byte offsets (relative to the first fragment's item tag) of each frame's first fragment. */
function framesFromOffsets(
  fragments: ReadonlyArray<Uint8Array>,
  offsets: ReadonlyArray<number>,
  table: string,
  bad: (msg: string) => DicomDecodeError,
): Uint8Array[] {
  const position = new Map<number, number>();
  let pos = 0;
  fragments.forEach((f, i) => {
    position.set(pos, i);
    pos += 8 + f.length;
  });
  const firsts = offsets.map((o, i) => {
    const k = position.get(o);
    if (k === undefined) {
      throw bad(`${table} entry ${i} (offset ${o}) does not point at the start of a fragment item.`);
    }
    if (i > 0 && o <= offsets[i - 1]) throw bad(`${table} offsets are not increasing (entry ${i}).`);
    return k;
  });
  if (firsts[0] !== 0) throw bad(`the first ${table} entry is ${offsets[0]}, not 0.`);
  return firsts.map((k, i) =>
    concatBytes(fragments.slice(k, i + 1 < firsts.length ? firsts[i + 1] : undefined))
  );
}

function readUint64s(bytes: Uint8Array, what: string): number[] {
  if (bytes.length % 8 !== 0) {
    throw new DicomDecodeError("INVALID_DICOM", `${what} has ${bytes.length} bytes (not a multiple of 8).`);
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let i = 0; i < bytes.length; i += 8) {
    const value = v.getBigUint64(i, true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DicomDecodeError("INVALID_DICOM", `${what} entry ${i / 8} is out of range (${value}).`);
    }
    out.push(Number(value));
  }
  return out;
}

/** Whether a fragment begins a new frame of the given codec family. */
function isFrameStart(data: Uint8Array, encoding: PixelEncoding): boolean {
  switch (encoding) {
    case "jpeg":
    case "jpegls":
      return data.length >= 2 && data[0] === 0xff && data[1] === 0xd8;
    case "j2k":
    case "htj2k":
      return isJ2kStart(data);
    default:
      return false;
  }
}

function isJ2kStart(d: Uint8Array): boolean {
  if (d.length >= 4 && d[0] === 0xff && d[1] === 0x4f && d[2] === 0xff && d[3] === 0x51) return true;
  // JP2 file format: the 12-byte signature box "jP  ".
  return d.length >= 12 && d[0] === 0 && d[1] === 0 && d[2] === 0 && d[3] === 0x0c && d[4] === 0x6a &&
    d[5] === 0x50 && d[6] === 0x20 && d[7] === 0x20;
}

/** A JPEG 2000 main header with a CAP marker (FF50) whose Pcap announces Part 15 (HTJ2K). */
function hasHtCapability(d: Uint8Array): boolean {
  // Main header markers follow SIZ; stop at the first SOT (FF90).
  let p = 2;
  while (p + 4 <= d.length && d[p] === 0xff) {
    const marker = d[p + 1];
    const length = (d[p + 2] << 8) | d[p + 3];
    if (marker === 0x90) return false;
    if (marker === 0x50 && p + 8 <= d.length) {
      const pcap = ((d[p + 4] << 24) | (d[p + 5] << 16) | (d[p + 6] << 8) | d[p + 7]) >>> 0;
      return (pcap & (1 << (32 - 15))) !== 0;
    }
    p += 2 + length;
  }
  return false;
}
