/**
 * A small DICOM writer for tests and benchmarks: data elements in any of the three uncompressed encodings
 * (implicit VR little endian, explicit VR little and big endian), sequences and items of defined or
 * undefined length, encapsulated pixel data, and Part 10 files around a data set. It writes exactly what it
 * is told (odd lengths, wrong VRs and all), so hostile files can be made with it too.
 *
 * @module
 */
import { concatBytes } from "../../dicom/bytes.ts";

/** How elements are encoded. */
export interface Encoding {
  readonly little: boolean;
  readonly explicit: boolean;
}

export const EXPLICIT_LE: Encoding = { little: true, explicit: true };
export const IMPLICIT_LE: Encoding = { little: true, explicit: false };
export const EXPLICIT_BE: Encoding = { little: false, explicit: true };

const LONG = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"]);
const UNDEFINED = 0xffffffff;

/** Options of {@link element}. */
export interface ElementOptions {
  readonly encoding?: Encoding;
  /** Write the length as undefined (0xFFFFFFFF); the value then carries its own delimiter. */
  readonly undefinedLength?: boolean;
  /** Write this length instead of the value's (for damaged files). */
  readonly length?: number;
}

/** One data element `tag` (0xGGGGEEEE) with `vr` and the value bytes as given. */
export function element(
  tag: number,
  vr: string,
  value: Uint8Array,
  options: ElementOptions = {},
): Uint8Array {
  const { little, explicit } = options.encoding ?? EXPLICIT_LE;
  const long = !explicit || LONG.has(vr);
  const head = new Uint8Array(explicit && long ? 12 : 8);
  const v = new DataView(head.buffer);
  v.setUint16(0, tag >>> 16, little);
  v.setUint16(2, tag & 0xffff, little);
  const length = options.undefinedLength ? UNDEFINED : options.length ?? value.length;
  if (explicit) {
    head[4] = vr.charCodeAt(0);
    head[5] = vr.charCodeAt(1);
    if (long) v.setUint32(8, length, little);
    else v.setUint16(6, length, little);
  } else {
    v.setUint32(4, length, little);
  }
  return concatBytes([head, value]);
}

/** An item (FFFE,E000) holding `value`; with `undefinedLength`, followed by its item delimiter. */
export function item(value: Uint8Array, options: { encoding?: Encoding; undefinedLength?: boolean } = {}) {
  const little = (options.encoding ?? EXPLICIT_LE).little;
  const parts = [marker(0xe000, options.undefinedLength ? UNDEFINED : value.length, little), value];
  if (options.undefinedLength) parts.push(marker(0xe00d, 0, little));
  return concatBytes(parts);
}

/** A sequence element of the given items; with `undefinedLength`, closed by a sequence delimiter. */
export function sequence(
  tag: number,
  items: ReadonlyArray<Uint8Array>,
  options: ElementOptions = {},
): Uint8Array {
  const little = (options.encoding ?? EXPLICIT_LE).little;
  const parts = [...items];
  if (options.undefinedLength) parts.push(marker(0xe0dd, 0, little));
  return element(tag, "SQ", concatBytes(parts), options);
}

/** An item, item delimiter or sequence delimiter header (FFFE,`element`) with `length`. */
export function marker(elementNumber: number, length: number, little = true): Uint8Array {
  const out = new Uint8Array(8);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xfffe, little);
  v.setUint16(2, elementNumber, little);
  v.setUint32(4, length, little);
  return out;
}

/** A text value padded to even length (UI with NUL, others with a space). */
export function text(s: string, vr = "CS"): Uint8Array {
  return new TextEncoder().encode(s.length % 2 === 0 ? s : s + (vr === "UI" ? "\0" : " "));
}

/** Unsigned 16-bit values. */
export const us = (values: number | ReadonlyArray<number>, little = true): Uint8Array =>
  words(values, 2, little);

/** Unsigned 32-bit values. */
export const ul = (values: number | ReadonlyArray<number>, little = true): Uint8Array =>
  words(values, 4, little);

function words(values: number | ReadonlyArray<number>, size: 2 | 4, little: boolean): Uint8Array {
  const list = typeof values === "number" ? [values] : values;
  const out = new Uint8Array(size * list.length);
  const v = new DataView(out.buffer);
  list.forEach((n, i) => size === 2 ? v.setUint16(2 * i, n, little) : v.setUint32(4 * i, n, little));
  return out;
}

/** The value padded to even length with one `pad` byte (a zero byte unless told). */
export function even(b: Uint8Array, pad = 0): Uint8Array {
  return b.length % 2 ? concatBytes([b, Uint8Array.of(pad)]) : b;
}

/** Text as ISO 8859-1 (Latin-1, ISO_IR 100) bytes, one byte per character. */
export const latin1 = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** Encapsulated Pixel Data (7FE0,0010): a Basic Offset Table item (`offsets`), one item per fragment. */
export function encapsulatedPixelData(
  fragments: ReadonlyArray<Uint8Array>,
  options: { encoding?: Encoding; offsets?: ReadonlyArray<number> } = {},
): Uint8Array {
  const little = (options.encoding ?? EXPLICIT_LE).little;
  return element(
    0x7fe00010,
    "OB",
    concatBytes([
      item(ul(options.offsets ?? [], little), options),
      ...fragments.map((f) => item(even(f), options)),
      marker(0xe0dd, 0, little),
    ]),
    { ...options, undefinedLength: true },
  );
}

/** The file meta group (0002) with its group length: Transfer Syntax UID and any further elements, by tag. */
export function fileMeta(transferSyntaxUid: string, extra: ReadonlyArray<Uint8Array> = []): Uint8Array {
  const elements = [
    element(0x00020001, "OB", new Uint8Array([0, 1])),
    ...extra,
    element(0x00020010, "UI", text(transferSyntaxUid, "UI")),
  ];
  const tagOf = (e: Uint8Array) => e[2] | (e[3] << 8);
  const body = concatBytes(elements.sort((a, b) => tagOf(a) - tagOf(b)));
  return concatBytes([element(0x00020000, "UL", ul(body.length)), body]);
}

/** A Part 10 file: preamble, "DICM", file meta naming `transferSyntaxUid`, then the data set elements. */
export function part10(
  transferSyntaxUid: string,
  dataset: ReadonlyArray<Uint8Array>,
  metaExtra: ReadonlyArray<Uint8Array> = [],
): Uint8Array {
  const preamble = new Uint8Array(132);
  preamble.set(new TextEncoder().encode("DICM"), 128);
  return concatBytes([preamble, fileMeta(transferSyntaxUid, metaExtra), ...dataset]);
}

/** The Image Pixel module of a monochrome or colour image (explicit VR unless `encoding` says otherwise). */
export function imagePixelModule(
  p: {
    readonly rows: number;
    readonly cols: number;
    readonly bitsAllocated: number;
    readonly bitsStored?: number;
    readonly signed?: boolean;
    readonly samples?: number;
    readonly photometric?: string;
    readonly frames?: number;
  },
  encoding: Encoding = EXPLICIT_LE,
): Uint8Array[] {
  const e = (tag: number, vr: string, value: Uint8Array) => element(tag, vr, value, { encoding });
  const stored = p.bitsStored ?? p.bitsAllocated;
  const samples = p.samples ?? 1;
  return [
    e(0x00280002, "US", us(samples, encoding.little)),
    e(0x00280004, "CS", text(p.photometric ?? (samples === 3 ? "RGB" : "MONOCHROME2"))),
    ...(samples > 1 ? [e(0x00280006, "US", us(0, encoding.little))] : []),
    ...(p.frames !== undefined ? [e(0x00280008, "IS", text(String(p.frames), "IS"))] : []),
    e(0x00280010, "US", us(p.rows, encoding.little)),
    e(0x00280011, "US", us(p.cols, encoding.little)),
    e(0x00280100, "US", us(p.bitsAllocated, encoding.little)),
    e(0x00280101, "US", us(stored, encoding.little)),
    e(0x00280102, "US", us(stored - 1, encoding.little)),
    e(0x00280103, "US", us(p.signed ? 1 : 0, encoding.little)),
  ];
}
