/**
 * The header elements in dcmjs's "dict" form (`{ "GGGGEEEE": { vr, Value, _rawValue } }`), read natively:
 * what dcmjs 0.52.2's `DicomMessage.readFile(...).dict` holds for the same elements, without re-assembling
 * them into a Part 10 file for it. naturalize.ts naturalizes the dict natively, as dcmjs's `naturalizeDataset`
 * would, and dcmjs.ts lets dcmjs do it where that declines.
 *
 * {@link readDict} reproduces, rule by rule, what dcmjs's `DicomMessage._readTag` and each value
 * representation's `readBytes` / `applyFormatting` store: numbers for the binary VRs (an empty value is
 * `[0]`, or `[undefined]` for AT), strings split at backslashes with dcmjs's trimming per VR and its pad-byte
 * rule for multi-valued elements, IS / DS parsed its way (`null` where it gives up), UI without its NUL pad
 * and without anything but digits and dots, PN as `{ Alphabetic, Ideographic, Phonetic }` objects (with
 * dcmjs's own value accessors), OB / OW / OD / OF / UN values as copied ArrayBuffers, and sequences as
 * arrays of item dicts. Implicit VR takes the VR from dcmjs's data dictionary (and its fallbacks for
 * unknown and private tags); an explicit UN of a tag dcmjs knows is re-read as the dictionary's VR, little
 * endian and unsplit, as dcmjs's `ParsedUnknownValue` does; the item streams of sequences start again with
 * dcmjs's default decoder, as dcmjs's do; undefined-length items are delimited by dcmjs's own word scan; a
 * (0008,0005) SpecificCharacterSet element is replaced by `["ISO_IR 192"]` after it selected the decoder;
 * and the undefined-length values dcmjs.ts hands dcmjs as opaque ones are read as those.
 *
 * Whatever it cannot prove equal makes it decline (return undefined), and the caller lets dcmjs read the file
 * as before: a character set other than the default, ISO_IR 6, ISO_IR 100 or ISO_IR 192 (or several), an
 * explicit UN whose dictionary VR is a sequence or one dcmjs has no class for (`xs`, `ox`, ...), a VR dcmjs
 * has no class for (OL, OV, SV), an undefined length on anything but a sequence or an opaque value, a binary
 * value whose length is not a multiple of its size, an item that dcmjs's word scan would cut elsewhere (or
 * that holds an opaque value), a value that runs past its element or item, and an opaque value inside a
 * value dcmjs reads as bytes.
 *
 * {@link readDictLater} reads the same dict with its values left unread until they are needed (the decoder
 * names only the attributes it reads when a file is read; dcmjs.ts's `readHeaderAttributes`): every check
 * above is made at once, so it declines where {@link readDict} declines.
 *
 * @module
 */
import { constants as dcmjsConstants, data as dcmjsData } from "dcmjs";
import { tagText } from "./tags.ts";
import type { ElementSpan, OpaqueValue } from "./walk.ts";

/** One element of the dict. */
export interface DcmjsElement {
  vr?: string;
  Value?: unknown;
  _rawValue?: unknown;
}
/** dcmjs's dict: elements by tag (`"GGGGEEEE"`), in file order. */
export type DcmjsDict = Record<string, DcmjsElement>;

interface DcmjsParts {
  ValueRepresentation: { addTagAccessors<T extends object>(tag: T): T };
  DicomMetaDictionary: { dictionary: Record<string, { vr?: string } | undefined> };
  encodingMapping: Record<string, string>;
}
const DCMJS = {
  ...(dcmjsData as unknown as Omit<DcmjsParts, "encodingMapping">),
  encodingMapping: (dcmjsConstants as unknown as { encodingMapping: Record<string, string> }).encodingMapping,
} as DcmjsParts;

/** The bytes and encoding the reader reads (the same fields as dcmjs.ts's AttributeSource). */
export interface DictSource {
  readonly bytes: Uint8Array;
  readonly little: boolean;
  readonly explicit: boolean;
  readonly opaque: ReadonlyArray<OpaqueValue>;
}

const UNDEFINED_LENGTH = 0xffffffff;
const ITEM = 0xfffee000;
const SEQUENCE_END = 0xfffee0dd;
const CHARSET_KEY = "00080005";
const CHARSET_TAG = 0x00080005;

/** The VRs dcmjs has a class for (its `VRinstances`). */
const DCMJS_VRS: ReadonlySet<string> = new Set(
  "AE AS AT CS DA DS DT FL FD IS LO LT OB OD OF OW PN SH SL SQ SS ST TM UC UI UL UN UR US UT UV".split(" "),
);
/** Those VRs by their two bytes (first byte high). */
const VR_BY_CODE: ReadonlyMap<number, string> = new Map(
  [...DCMJS_VRS].map((vr) => [(vr.charCodeAt(0) << 8) | vr.charCodeAt(1), vr]),
);
/** VRs with a 4-byte length in explicit VR, as dcmjs reads them (its `length32VRs`). */
const LENGTH32: ReadonlySet<string> = new Set("OB OW OF SQ UC UR UT UN OD UV".split(" "));
/** The binary numbers dcmjs reads value by value: the size of one, and what an empty value reads as. */
const NUMBERS: Readonly<Record<string, { size: number; empty: number | undefined }>> = {
  FL: { size: 4, empty: 0 },
  FD: { size: 8, empty: 0 },
  SL: { size: 4, empty: 0 },
  SS: { size: 2, empty: 0 },
  UL: { size: 4, empty: 0 },
  US: { size: 2, empty: 0 },
  AT: { size: 4, empty: undefined },
  UV: { size: 8, empty: 0 },
};
/** The max length dcmjs's `dropPadByte` goes by, for the VRs where it acts (a space pad byte and a limit). */
const PAD_LIMIT: Readonly<Record<string, number>> = {
  AE: 16,
  AS: 4,
  CS: 16,
  DA: 8,
  DT: 26,
  TM: 16,
  DS: 16,
  IS: 12,
  LO: 64,
  SH: 16,
  ST: 1024,
};
/** The (0008,0005) values read here, normalized as dcmjs does (`_` and space to `-`, lower case). */
const CHARSETS: ReadonlySet<string> = new Set(["", "iso-ir-6", "iso-ir-100", "iso-ir-192"]);
/** dcmjs's default decoder label (its ReadBufferStream's). */
const DEFAULT_DECODER = "latin1";

const decoders = new Map<string, TextDecoder>();
function decoderFor(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) decoders.set(label, d = new TextDecoder(label));
  return d;
}

/** What dcmjs would not read the same way: the reader declines, dcmjs reads the file. */
class Declined extends Error {}
function decline(): never {
  throw new Declined();
}

/** The values and raw values of one element, as dcmjs's `_readTag` returns them. */
interface Values {
  readonly values: unknown;
  readonly raw: unknown;
}

/** One element header. */
interface Head {
  readonly tag: number;
  /** The VR dcmjs reads the value as (and stores). */
  readonly vr: string;
  readonly length: number;
  readonly valueAt: number;
  /** An explicit UN of a tag in dcmjs's dictionary (dcmjs's `ParsedUnknownValue`). */
  readonly unknown: boolean;
}

/** A string value as dcmjs's `read` returns it: `readBytes`'s value, and `applyFormatting`'s. */
interface Formatted {
  readonly raw: string | string[];
  readonly value: unknown;
}

/** A data set being read (the top level, or an item): its dict and its decoder. */
class DataSetState {
  readonly dict: DcmjsDict = {};
  decoder = decoderFor(DEFAULT_DECODER);
}

/**
 * The dict dcmjs would read from the given top-level elements, or undefined where this reader declines.
 * Each span must read to exactly its end.
 */
export function readDict(src: DictSource, spans: ReadonlyArray<ElementSpan>): DcmjsDict | undefined {
  try {
    return new DictReader(src, spans).read(spans);
  } catch (e) {
    if (e instanceof Declined) return undefined;
    throw e;
  }
}

/**
 * {@link readDict}, but the values (other than (0008,0005)'s) are read when first needed: each element is a
 * {@link PendingElement} until then, read from a copy of the header's bytes (the input buffer may be reused
 * for the next file). Declines where {@link readDict} declines (a value's length that does not fit its VR is
 * checked at once). Where the header's bytes are far from the start of the input (elements after the pixel
 * data), it reads the values at once, as {@link readDict}.
 */
export function readDictLater(src: DictSource, spans: ReadonlyArray<ElementSpan>): DcmjsDict | undefined {
  let end = 0;
  let size = 0;
  for (const span of spans) {
    end = Math.max(end, span.end);
    size += span.end - span.at;
  }
  if (end > 4 * size + 4096) return readDict(src, spans);
  const bytes = new Uint8Array(end);
  bytes.set(src.bytes.subarray(0, end));
  try {
    return new DictReader({ ...src, bytes }, spans, true).read(spans);
  } catch (e) {
    if (e instanceof Declined) return undefined;
    throw e;
  }
}

/**
 * An element of a {@link readDictLater} dict whose value is not read yet; {@link PendingElement.settle} reads
 * it and puts the element dcmjs would have stored in its place in the dict.
 */
export class PendingElement {
  constructor(
    /** The VR the value is read as (as the element will have it). */
    readonly vr: string,
    private readonly reader: DictReader,
    private readonly dict: DcmjsDict,
    private readonly key: string,
    private readonly head: Head,
    private readonly decoder: TextDecoder,
  ) {}

  /** The element, its value read (once: later calls give the element in the dict). */
  settle(): DcmjsElement {
    if (this.dict[this.key] !== this) return this.dict[this.key];
    const element = this.reader.elementOf(this.head, this.decoder);
    this.dict[this.key] = element;
    return element;
  }
}

/** Every value of a {@link readDictLater} dict (and its items) read: the dict {@link readDict} reads. */
export function settleAll(dict: DcmjsDict): DcmjsDict {
  for (const key of Object.keys(dict)) {
    const data = dict[key];
    if (data instanceof PendingElement) data.settle();
    else if (data.vr === "SQ" && Array.isArray(data.Value)) {
      for (const item of data.Value) settleAll(item);
    }
  }
  return dict;
}

/** Reads elements the way dcmjs does; one instance per file (the state is the opaque values it was given). */
class DictReader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly little: boolean;
  private readonly explicit: boolean;
  /** The opaque values dcmjs.ts rewrites as defined-length ones: start -> end. */
  private readonly opaque: ReadonlyMap<number, number>;

  /** Values are read when first needed ({@link PendingElement}). */
  private readonly later: boolean;

  constructor(src: DictSource, spans: ReadonlyArray<ElementSpan>, later = false) {
    this.later = later;
    this.bytes = src.bytes;
    this.view = new DataView(src.bytes.buffer, src.bytes.byteOffset, src.bytes.byteLength);
    this.little = src.little;
    this.explicit = src.explicit;
    this.opaque = rewrittenOpaque(src.opaque, spans);
  }

  read(spans: ReadonlyArray<ElementSpan>): DcmjsDict {
    const top = new DataSetState();
    for (const span of spans) {
      if (this.element(span.at, span.end, top) !== span.end) decline();
    }
    return top.dict;
  }

  /** The elements of an item's value [pos, end), as dcmjs's `_read` of the item stream. */
  private itemDict(pos: number, end: number): DcmjsDict {
    const state = new DataSetState();
    while (pos < end) pos = this.element(pos, end, state);
    return state.dict;
  }

  /** One element at `pos` (which must end by `limit`) into `state`; returns the position after it. */
  private element(pos: number, limit: number, state: DataSetState): number {
    const h = this.head(pos, limit);
    if (h.vr === "SQ") {
      const sequence = this.sequence(h, limit);
      store(state, h, sequence.items, undefined);
      return sequence.end;
    }
    const end = h.valueAt + h.length;
    if (h.length === UNDEFINED_LENGTH || end > limit || this.touchesOpaque(h.valueAt, end)) decline();
    if (this.later && h.tag !== CHARSET_TAG) {
      checkNumbers(h);
      const key = dictKey(h.tag);
      state.dict[key] = new PendingElement(h.vr, this, state.dict, key, h, state.decoder);
      return end;
    }
    const read = this.value(h, state.decoder);
    store(state, h, read.values, read.raw);
    return end;
  }

  /** The element of a pending value, read now (see {@link PendingElement}). */
  elementOf(h: Head, decoder: TextDecoder): DcmjsElement {
    const read = this.value(h, decoder);
    return entryOf(h, read.values, read.raw);
  }

  /** The element header at `pos`, with the VR dcmjs reads the value as. */
  private head(pos: number, limit: number): Head {
    if (pos + 8 > limit) decline();
    const tag = ((this.u16(pos) << 16) | this.u16(pos + 2)) >>> 0;
    if (tag >>> 16 === 0xfffe) decline();
    const opaqueEnd = this.opaque.size === 0 ? undefined : this.opaque.get(pos);
    if (this.explicit) {
      if (opaqueEnd !== undefined) {
        return { tag, vr: "OB", length: opaqueEnd - pos - 12, valueAt: pos + 12, unknown: false };
      }
      const vr = VR_BY_CODE.get((this.bytes[pos + 4] << 8) | this.bytes[pos + 5]);
      if (vr === undefined) decline();
      if (!LENGTH32.has(vr)) return { tag, vr, length: this.u16(pos + 6), valueAt: pos + 8, unknown: false };
      if (pos + 12 > limit) decline();
      const length = this.u32(pos + 8);
      const known = vr === "UN" ? dictionaryVr(tag) : undefined;
      if (known === undefined) return { tag, vr, length, valueAt: pos + 12, unknown: false };
      // dcmjs re-reads it as the dictionary's VR; not those it has no class for, nor sequences
      if (!DCMJS_VRS.has(known) || known === "SQ" || length === UNDEFINED_LENGTH) decline();
      return { tag, vr: known, length, valueAt: pos + 12, unknown: true };
    }
    const length = opaqueEnd !== undefined ? opaqueEnd - pos - 8 : this.u32(pos + 4);
    return { tag, vr: implicitVr(tag, length), length, valueAt: pos + 8, unknown: false };
  }

  /** The value of a defined-length element other than a sequence, as dcmjs's `_readTag` stores it. */
  private value(h: Head, decoder: TextDecoder): Values {
    if (h.unknown) return this.unknownValue(h);
    const numbers = NUMBERS[h.vr];
    if (numbers) return this.numbers(h, numbers.size, numbers.empty, this.little);
    if (h.vr === "OB" || h.vr === "OW" || h.vr === "OD") return { values: [this.copy(h)], raw: undefined };
    if (h.vr === "OF" || h.vr === "UN") return { values: [this.copy(h)], raw: [undefined] };
    const { raw, value } = this.formatted(h, decoder);
    if (h.vr === "LT") return { values: [value], raw: [raw] };
    if (typeof value !== "string") return { values: value, raw };
    return {
      values: dropPadByte(h.vr, value.split("\\")),
      raw: dropPadByte(h.vr, (raw as string).split("\\")),
    };
  }

  /**
   * An explicit UN whose tag dcmjs knows (its `ParsedUnknownValue`): the value read as the dictionary's VR
   * from a little endian copy with the default decoder, and kept whole (no split at backslashes).
   */
  private unknownValue(h: Head): Values {
    const numbers = NUMBERS[h.vr];
    if (numbers) return this.numbers(h, numbers.size, numbers.empty, true);
    if (h.vr === "OB" || h.vr === "OW") return { values: [this.copy(h)], raw: undefined };
    if (h.vr === "OD" || h.vr === "OF" || h.vr === "UN") return { values: [this.copy(h)], raw: [undefined] };
    const { raw, value } = this.formatted(h, decoderFor(DEFAULT_DECODER));
    return { values: Array.isArray(value) ? value : [value], raw: Array.isArray(raw) ? raw : [raw] };
  }

  /** FL FD SL SS UL US AT UV: one number per `size` bytes (dcmjs's default for an empty value). */
  private numbers(h: Head, size: number, empty: number | undefined, little: boolean): Values {
    if (h.length === 0) return { values: [empty], raw: [empty] };
    if (h.length % size !== 0) decline();
    const values: unknown[] = [];
    for (let p = h.valueAt; p < h.valueAt + h.length; p += size) values.push(this.number(h.vr, p, little));
    return { values, raw: values.slice() };
  }

  private number(vr: string, p: number, little: boolean): unknown {
    const v = this.view;
    switch (vr) {
      case "FL":
        return v.getFloat32(p, little);
      case "FD":
        return v.getFloat64(p, little);
      case "SL":
        return v.getInt32(p, little);
      case "SS":
        return v.getInt16(p, little);
      case "UL":
        return v.getUint32(p, little);
      case "US":
        return v.getUint16(p, little);
      case "AT":
        return ((v.getUint16(p, little) << 16) | v.getUint16(p + 2, little)) >>> 0;
      default:
        return v.getBigUint64(p, little);
    }
  }

  /**
   * A string VR as dcmjs's `read` gives it: what its `readBytes` reads (ASCII, or through `decoder`; CS, DS
   * and IS already split, UI split when it has a backslash) and that value formatted by `applyFormatting`.
   */
  private formatted(h: Head, decoder: TextDecoder): Formatted {
    const { vr, valueAt, length } = h;
    switch (vr) {
      case "PN": {
        const raw = this.padded(valueAt, length, decoder);
        return { raw, value: personNames(raw) };
      }
      case "UI": {
        const s = this.uidString(valueAt, length);
        if (s.indexOf("\\") === -1) return { raw: s, value: uidChars(s) };
        const raw = s.split("\\");
        return { raw, value: raw.map(uidChars) };
      }
      case "CS":
      case "DS":
      case "IS": {
        const raw = dropPadByte(vr, this.ascii(valueAt, length).split("\\"));
        const parse: (s: string) => unknown = vr === "CS" ? trim : vr === "DS" ? decimal : integer;
        return { raw, value: raw.map(parse) };
      }
    }
    const s = ENCODED.has(vr) ? this.decoded(valueAt, length, decoder) : this.ascii(valueAt, length);
    return { raw: s, value: formatString(vr, s) };
  }

  /** PN: the decoded value without one trailing space (dcmjs's `readPaddedEncodedString`). */
  private padded(valueAt: number, length: number, decoder: TextDecoder): string {
    if (length === 0) return "";
    const s = this.decoded(valueAt, length, decoder);
    return s.length && s[s.length - 1] !== " " ? s : s.slice(0, -1);
  }

  /** UI: the value without one trailing NUL (dcmjs's `readPaddedAsciiString`). */
  private uidString(valueAt: number, length: number): string {
    if (length === 0) return "";
    return this.ascii(valueAt, this.bytes[valueAt + length - 1] !== 0 ? length : length - 1);
  }

  /** A sequence: its items (dicts), read as dcmjs's `SequenceOfItems.readBytes` delimits them. */
  private sequence(h: Head, limit: number): { items: DcmjsDict[]; end: number } {
    if (h.length === 0) return { items: [], end: h.valueAt };
    const undefinedLength = h.length === UNDEFINED_LENGTH;
    const end = undefinedLength ? limit : h.valueAt + h.length;
    if (end > limit) decline();
    const items: DcmjsDict[] = [];
    let pos = h.valueAt;
    for (;;) {
      if (pos + 8 > end) decline();
      const tag = this.u32Tag(pos);
      if (tag === SEQUENCE_END) {
        pos += 8;
        if (!undefinedLength && pos !== end) decline();
        break;
      }
      if (tag !== ITEM) decline();
      pos = this.item(pos, end, items);
      if (!undefinedLength && pos >= end) {
        if (pos > end) decline();
        break;
      }
    }
    return { items, end: pos };
  }

  /** One item at `pos` (its header); an item of length 0 is left out, as dcmjs does. Returns the end. */
  private item(pos: number, limit: number, items: DcmjsDict[]): number {
    const length = this.u32(pos + 4);
    const valueAt = pos + 8;
    if (length === UNDEFINED_LENGTH) {
      const { size, after } = this.scanItem(valueAt, limit);
      if (size > 0) items.push(this.itemDict(valueAt, valueAt + size));
      return after;
    }
    const end = valueAt + length;
    if (end > limit) decline();
    if (length > 0) items.push(this.itemDict(valueAt, end));
    return end;
  }

  /**
   * dcmjs's word-by-word scan for the end of an undefined-length item that starts at `valueAt`: its size
   * and the position after its delimiter. Declines where dcmjs's count would not start the item at
   * `valueAt`, where the scan would leave `limit`, and where it crosses an opaque value.
   */
  private scanItem(valueAt: number, limit: number): { size: number; after: number } {
    let p = valueAt;
    let stack = 0;
    let size = 0;
    for (;;) {
      if (p + 2 > limit) decline();
      const g = this.u16(p);
      p += 2;
      if (g !== 0xfffe) {
        size += 2;
        continue;
      }
      if (p + 6 > limit) decline();
      const ge = this.u16(p);
      const length = this.u32(p + 2);
      if (ge === 0xe00d) { // an item delimiter
        p += 2;
        if (length !== 0) size += 2;
        else if (--stack < 0) break;
        else size += 4;
      } else if (ge === 0xe000) {
        p += 2;
        size += 4;
        if (length === UNDEFINED_LENGTH) stack++;
      } else {
        size += 2;
      }
    }
    const after = p + 4;
    if (after - 8 - size !== valueAt || this.touchesOpaque(valueAt, after)) decline();
    return { size, after };
  }

  /** Whether an opaque value dcmjs.ts rewrites starts in [from, to). */
  private touchesOpaque(from: number, to: number): boolean {
    if (this.opaque.size === 0) return false;
    for (const at of this.opaque.keys()) if (at >= from && at < to) return true;
    return false;
  }

  /** A binary value as a fresh ArrayBuffer of its own (the input may be a view, or a Node Buffer). */
  private copy(h: Head): ArrayBuffer {
    const out = new Uint8Array(h.length);
    out.set(this.bytes.subarray(h.valueAt, h.valueAt + h.length));
    return out.buffer;
  }

  /**
   * Bytes through the data set's decoder (dcmjs's `readEncodedString`). Bytes below 0x80 are the same
   * characters in both decoders read here (windows-1252, which is what "latin1" names, and UTF-8), so an
   * all-ASCII value skips the decoder.
   */
  private decoded(at: number, length: number, decoder: TextDecoder): string {
    for (let i = at; i < at + length; i++) {
      if (this.bytes[i] >= 0x80) return decoder.decode(this.bytes.subarray(at, at + length));
    }
    return this.ascii(at, length);
  }

  /** Bytes as characters one to one (dcmjs's `readAsciiString`). */
  private ascii(at: number, length: number): string {
    let s = "";
    if (length <= 16) {
      for (let i = at; i < at + length; i++) s += String.fromCharCode(this.bytes[i]);
      return s;
    }
    for (let i = at; i < at + length; i += 4096) {
      s += String.fromCharCode.apply(null, this.bytes.subarray(i, Math.min(at + length, i + 4096)) as never);
    }
    return s;
  }

  private u16(p: number): number {
    return this.view.getUint16(p, this.little);
  }

  private u32(p: number): number {
    return this.view.getUint32(p, this.little);
  }

  private u32Tag(p: number): number {
    return ((this.u16(p) << 16) | this.u16(p + 2)) >>> 0;
  }
}

/**
 * The opaque values dcmjs.ts's `assemble` rewrites, start -> end: per span, those inside it, skipping those
 * inside one already taken.
 */
export function rewrittenOpaque(
  opaque: ReadonlyArray<OpaqueValue>,
  spans: ReadonlyArray<ElementSpan>,
): ReadonlyMap<number, number> {
  const rewritten = new Map<number, number>();
  if (opaque.length === 0) return rewritten;
  for (const s of spans) {
    let covered = -1;
    for (const o of opaque) {
      if (o.at < s.at || o.end > s.end || o.at < covered) continue;
      rewritten.set(o.at, o.end);
      covered = o.end;
    }
  }
  return rewritten;
}

/**
 * Adds an element to the dict as dcmjs's `_read` does: its object made by dcmjs (a Proxy for PN, whose
 * values get dcmjs's accessors), a (0008,0005) value switching the decoder and stored as `["ISO_IR 192"]`.
 */
function store(state: DataSetState, h: Head, values: unknown, raw: unknown): void {
  const key = dictKey(h.tag);
  if (key === CHARSET_KEY) {
    state.decoder = charsetDecoder(h.vr, values);
    values = ["ISO_IR 192"];
  }
  state.dict[key] = entryOf(h, values, raw);
}

/** The object dcmjs makes for an element (a Proxy for PN, whose values get dcmjs's accessors). */
function entryOf(h: Head, values: unknown, raw: unknown): DcmjsElement {
  const entry = DCMJS.ValueRepresentation.addTagAccessors<DcmjsElement>({ vr: h.vr });
  entry.Value = values;
  entry._rawValue = raw;
  return entry;
}

/** Declines a binary number value whose length is not a multiple of one number's (as reading it would). */
function checkNumbers(h: Head): void {
  const numbers = NUMBERS[h.vr];
  if (numbers && h.length !== 0 && h.length % numbers.size !== 0) decline();
}

/** The decoder dcmjs switches to for a (0008,0005) value; declines the character sets not read here. */
function charsetDecoder(vr: string, values: unknown): TextDecoder {
  if (vr !== "CS" || !Array.isArray(values) || values.length !== 1) decline();
  const coding = String(values[0]).replace(/[_ ]/g, "-").toLowerCase();
  if (!CHARSETS.has(coding)) decline();
  return decoderFor(DCMJS.encodingMapping[coding]);
}

/** The VR dcmjs reads an implicit VR element as (its dictionary, else its fallbacks; `ox`/`xs` as it maps them). */
function implicitVr(tag: number, length: number): string {
  const vr = dictionaryVr(tag);
  if (vr === undefined) {
    if (length === UNDEFINED_LENGTH) return "SQ";
    if (tag === 0x7fe00010) return "OW";
    const element = tag & 0xffff;
    if ((tag >>> 16) % 2 === 1 && element < 0x100 && element > 0) return "LO";
    return "UN";
  }
  if (DCMJS_VRS.has(vr)) return vr;
  if (vr === "ox") return "OW";
  if (vr === "xs") return "US";
  return "UN";
}

/** The VR of a tag in dcmjs's data dictionary. */
function dictionaryVr(tag: number): string | undefined {
  return DCMJS.DicomMetaDictionary.dictionary[tagText(tag)]?.vr || undefined;
}

const keys = new Map<number, string>();
/** dcmjs's dict key of a tag (`"GGGGEEEE"`), remembered for the first few thousand tags seen. */
export function dictKey(tag: number): string {
  let key = keys.get(tag);
  if (key === undefined) {
    key = tag.toString(16).toUpperCase().padStart(8, "0");
    if (keys.size < 4096) keys.set(tag, key);
  }
  return key;
}

/** The string VRs read through the data set's decoder (dcmjs's EncodedStringRepresentation). */
const ENCODED: ReadonlySet<string> = new Set(["LO", "LT", "SH", "ST", "UT", "UC"]);

/** dcmjs's `applyFormatting` of a string read whole (not PN, UI, CS, DS, IS). */
function formatString(vr: string, s: string): string {
  if (vr === "AE" || vr === "LO" || vr === "SH") return s.trim();
  if (vr === "TM" || vr === "LT" || vr === "ST" || vr === "UT" || vr === "UC") return rtrim(s);
  return s;
}

const trim = (s: string) => s.trim();

/** UI: only digits and dots kept. */
const uidChars = (s: string) => s.replace(/[^0-9.]/g, "");

/** PN: dcmjs's JSON model of the names (its `pnStringToObject`). */
function personNames(s: string): unknown[] {
  return s.split("\\").filter(Boolean).map((v) => {
    const c = v.split("=");
    return {
      ...(c[0] ? { Alphabetic: c[0] } : {}),
      ...(c[1] ? { Ideographic: c[1] } : {}),
      ...(c[2] ? { Phonetic: c[2] } : {}),
    };
  });
}

/** dcmjs's DS parsing: characters of a number kept, `null` for an empty or non-finite value. */
function decimal(s: string): number | null {
  const kept = s.trim().replace(/[^0-9.\\\-+e]/gi, "");
  if (kept === "") return null;
  const n = Number(kept);
  return Number.isFinite(n) ? n : null;
}

/** dcmjs's IS parsing: a signed base-10 integer, else `null`. */
function integer(s: string): number | null {
  const trimmed = s.trim();
  if (trimmed === "" || !/^[+-]?\d+$/.test(trimmed)) return null;
  const n = Number(trimmed);
  return Number.isFinite(n) ? n : null;
}

/** dcmjs's `rtrim`. */
function rtrim(s: string): string {
  return s.replace(/\s*$/g, "");
}

/** dcmjs's `dropPadByte`: one trailing space off an odd-length last value of a multi-valued element. */
function dropPadByte(vr: string, values: string[]): string[] {
  if (values.length < 2 || PAD_LIMIT[vr] === undefined) return values;
  const last = values[values.length - 1];
  if (last.length % 2 !== 0 && last.endsWith(" ")) {
    values[values.length - 1] = last.substring(0, last.length - 1);
  }
  return values;
}
