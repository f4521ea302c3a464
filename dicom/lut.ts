/**
 * Lookup tables stored in the data set: Modality LUT and VOI LUT Sequence items (PS3.3 C.11.1, C.11.2) and
 * the Palette Color LUTs (C.7.6.3.1.5-6), including segmented palettes (C.7.9).
 *
 * A LUT Descriptor is `[entries (0 means 65536), first stored value mapped, bits per entry]`. LUT Data is
 * 16-bit words, except that 8-bit palette and 8-bit LUT data may be packed two entries per word.
 *
 * @module
 */
import type { LutTable } from "./meta.ts";
import { DicomDecodeError } from "./errors.ts";
import { int, nums, str } from "./values.ts";

/** How LUT values are encoded in this file. */
export interface LutContext {
  /** PixelRepresentation: a first mapped value of 0x8000 or more is negative for signed pixels. */
  readonly pixelRepresentation: number;
  /** Explicit VR big endian: OW words are big endian. */
  readonly bigEndian: boolean;
}

/** Parses a Modality LUT Sequence or VOI LUT Sequence item. */
export function parseLut(item: Record<string, unknown>, label: string, ctx: LutContext): LutTable {
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
  if (ctx.pixelRepresentation === 1 && firstMapped >= 0x8000) firstMapped -= 0x10000;
  const bits = descriptor[2];
  if (!(bits >= 1 && bits <= 16)) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `${label}: the LUT Descriptor (0028,3002) gives ${bits} bits per entry (expected 8 to 16).`,
    );
  }
  const data = lutData(item.LUTData, entries, bits, ctx.bigEndian);
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

/** LUT Data as numbers: a list of US values, or OW bytes (16-bit words, or 8-bit entries packed two a word). */
function lutData(value: unknown, entries: number, bits: number, bigEndian: boolean): number[] {
  const parts = Array.isArray(value) ? value : value === undefined ? [] : [value];
  if (parts.length > 0 && parts.every((p) => typeof p === "number")) return parts as number[];
  const bytes = bytesOf(parts[0]);
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

function bytesOf(value: unknown): Uint8Array | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (first instanceof ArrayBuffer) return new Uint8Array(first);
  if (ArrayBuffer.isView(first)) return new Uint8Array(first.buffer, first.byteOffset, first.byteLength);
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Palette Color
// ---------------------------------------------------------------------------------------------------------

/** The three Palette Color LUTs of a PALETTE COLOR image. */
export interface PaletteLut {
  /** Entries per LUT (0 in the descriptor means 65536). */
  readonly entries: number;
  /** The stored value mapped to the first entry; lower values map to it too, higher ones to the last. */
  readonly firstMapped: number;
  /** Bits per entry: 8 or 16 (the output values are 0 .. 2^bits - 1). */
  readonly bits: number;
  /** The file used Segmented Palette Color LUT Data (0028,1221-1223). */
  readonly segmented: boolean;
  readonly red: Uint16Array;
  readonly green: Uint16Array;
  readonly blue: Uint16Array;
}

const COLOURS = ["Red", "Green", "Blue"] as const;

/**
 * Reads the Palette Color Lookup Table module (PS3.3 C.7.6.3.1.5, C.7.9) as pydicom's `apply_color_lut`
 * does: 8- or 16-bit entries, LUT data or segmented LUT data (discrete, linear and indirect segments).
 *
 * @throws DicomDecodeError INVALID_DICOM when the descriptors or data are missing or inconsistent
 */
export function parsePalette(ds: Readonly<Record<string, unknown>>, bigEndian: boolean): PaletteLut {
  const bad = (msg: string) =>
    new DicomDecodeError(
      "INVALID_DICOM",
      `PALETTE COLOR image: ${msg} The Palette Color Lookup Table module is incomplete; without it the ` +
        "stored indices cannot be turned into colours.",
    );
  const descriptor = nums(ds.RedPaletteColorLookupTableDescriptor);
  if (!descriptor || descriptor.length < 3) {
    throw bad(
      "the Red Palette Color Lookup Table Descriptor (0028,1101) is missing or has fewer than 3 values.",
    );
  }
  for (const c of ["Green", "Blue"]) {
    const d = nums(ds[`${c}PaletteColorLookupTableDescriptor`]);
    if (!d || d.length < 3 || d[0] !== descriptor[0] || d[1] !== descriptor[1] || d[2] !== descriptor[2]) {
      throw bad(`the ${c} Palette Color Lookup Table Descriptor differs from the red one (or is missing).`);
    }
  }
  const entries = descriptor[0] === 0 ? 65536 : descriptor[0];
  let firstMapped = descriptor[1];
  if ((int(ds.PixelRepresentation) ?? 0) === 1 && firstMapped >= 0x8000) firstMapped -= 0x10000;
  const nominal = descriptor[2];
  const segmented = ds.RedPaletteColorLookupTableData === undefined &&
    ds.SegmentedRedPaletteColorLookupTableData !== undefined;
  let bits = nominal;
  const tables: Uint16Array[] = [];
  for (const c of COLOURS) {
    const raw = bytesOf(
      ds[segmented ? `Segmented${c}PaletteColorLookupTableData` : `${c}PaletteColorLookupTableData`],
    );
    if (raw === undefined) throw bad(`the ${c} Palette Color Lookup Table Data is missing.`);
    if (segmented) {
      if (nominal !== 8 && nominal !== 16) {
        throw bad(`the descriptor gives ${nominal} bits per entry (8 or 16).`);
      }
      tables.push(expandSegmented(raw, nominal, bigEndian, c, bad));
    } else {
      // As pydicom: the data length decides the entry size (8-bit entries are packed, one byte each).
      bits = (raw.length / entries) * 8;
      if (bits !== 8 && bits !== 16) {
        throw bad(
          `the ${c} LUT Data has ${raw.length} bytes for ${entries} entries (${bits.toFixed(1)} bits each; ` +
            "8 or 16 expected).",
        );
      }
      tables.push(readEntries(raw, bits, bigEndian));
    }
  }
  if (tables.some((t) => t.length !== tables[0].length)) throw bad("the three LUTs differ in length.");
  return { entries, firstMapped, bits, segmented, red: tables[0], green: tables[1], blue: tables[2] };
}

function readEntries(raw: Uint8Array, bits: number, bigEndian: boolean): Uint16Array {
  if (bits === 8) {
    const out = new Uint16Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw[bigEndian ? i ^ 1 : i];
    return out;
  }
  const n = raw.length >> 1;
  const out = new Uint16Array(n);
  const v = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  for (let i = 0; i < n; i++) out[i] = v.getUint16(2 * i, !bigEndian);
  return out;
}

/** Expands Segmented Palette Color LUT Data (PS3.3 C.7.9.2), as pydicom's `_expand_segmented_lut`. */
function expandSegmented(
  raw: Uint8Array,
  bits: number,
  bigEndian: boolean,
  colour: string,
  bad: (msg: string) => DicomDecodeError,
): Uint16Array {
  const data = readEntries(raw, bits, bigEndian);
  const out: number[] = [];
  const expand = (start: number, maxSegments: number, lastValue: number | undefined): void => {
    let offset = start;
    let segments = 0;
    // `offset + 1`: the data may end with a padding entry; every segment is longer than 2.
    while (offset + 1 < data.length) {
      const opcode = data[offset];
      const length = data[offset + 1];
      offset += 2;
      if (opcode === 0) {
        // Discrete segment
        if (offset + length > data.length) throw bad(`the ${colour} segmented LUT ends inside a segment.`);
        for (let i = 0; i < length; i++) out.push(data[offset + i]);
        offset += length;
      } else if (opcode === 1) {
        // Linear segment: from the previous value to y1 in `length` steps, rounded half to even.
        const y0 = out.length > 0 ? out[out.length - 1] : lastValue;
        if (y0 === undefined) throw bad(`the ${colour} segmented LUT starts with a linear segment.`);
        const y1 = data[offset++];
        if (y0 === y1) {
          for (let i = 0; i < length; i++) out.push(y1);
        } else {
          const step = (y1 - y0) / length;
          const a = y0 + step;
          const delta = length > 1 ? (y1 - a) / (length - 1) : 0;
          for (let i = 0; i < length; i++) out.push(roundHalfEven(i === length - 1 ? y1 : a + i * delta));
        }
      } else if (opcode === 2) {
        // Indirect segment: `length` segments found at an offset (an entry index, as pydicom reads it).
        if (out.length === 0) throw bad(`the ${colour} segmented LUT starts with an indirect segment.`);
        let target: number;
        if (bits === 8) {
          const order = bigEndian ? [2, 3, 0, 1] : [3, 2, 1, 0];
          const b = order.map((k) => data[offset + k]);
          target = ((((b[0] << 8) | b[1]) << 16) | ((b[2] << 8) | b[3])) >>> 0;
          offset += 4;
        } else {
          target = ((data[offset + 1] << 16) | data[offset]) >>> 0;
          offset += 2;
        }
        if (target >= data.length || maxSegments !== Infinity) {
          throw bad(`the ${colour} segmented LUT has an invalid or nested indirect segment.`);
        }
        expand(target, length, out[out.length - 1]);
      } else {
        throw bad(`the ${colour} segmented LUT has an unknown segment type ${opcode}.`);
      }
      segments++;
      if (segments === maxSegments) return;
    }
  };
  expand(0, Infinity, undefined);
  return Uint16Array.from(out);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}
