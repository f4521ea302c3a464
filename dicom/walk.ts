/**
 * The structure walk of a data set: every element header, sequence, item and encapsulated fragment, read by
 * their lengths (never by scanning for delimiter bytes), without interpreting values.
 *
 * {@link DatasetWalker} checks that every length fits (dcmjs silently reads past the end of a cut-short
 * file), keeps to the resource limits (nesting depth, item and element counts: defined-length sequences are
 * walked too), and finds the top-level pixel elements (as views into the input, never copied). It records
 * what the attribute reader needs: the top-level elements before the pixel data, and the undefined-length
 * values dcmjs cannot read (UN sequences, encapsulated pixel data nested in an icon) so that they can be
 * handed to it as opaque bytes.
 *
 * Damage is contained where the lengths allow: a top-level element with a defined length whose value is
 * inconsistent (a binary VR with a length that is not a multiple of its size, items that do not add up)
 * is marked damaged and skipped, and so is anything unreadable after the complete pixel data. Damage that
 * loses the element boundaries before the pixel data is a coded error.
 *
 * @module
 */
import { elementName as tagName } from "./dcmjs.ts";
import { DicomDecodeError, FatalDecodeError, truncatedError } from "./errors.ts";
import type { DecodeLimits } from "./limits.ts";
import { groupOf, PIXEL_INTERPRETATION_TAGS, PIXEL_TAGS, TAG, tagText } from "./tags.ts";
import { LONG_VRS, VALUE_SIZE, vrAt } from "./vr.ts";

/** Which element held the pixels. */
export type PixelTag = "PixelData" | "FloatPixelData" | "DoubleFloatPixelData";

/** The top-level pixel element of a data set, as views into the file. */
export interface PixelElement {
  readonly tag: PixelTag;
  /** VR as encoded (explicit syntaxes only). */
  readonly vr?: string;
  /** Byte offset of the element in the walked bytes. */
  readonly at?: number;
  /** Native pixel data: the value bytes present in the file (fewer than declared when it is truncated). */
  readonly value?: Uint8Array;
  /** Native pixel data: the declared value length. */
  readonly declaredLength?: number;
  /** Encapsulated pixel data: the item values in order; item 0 is the Basic Offset Table. */
  readonly items?: ReadonlyArray<Uint8Array>;
}

/** A top-level element: where it is, and why it was skipped when it is damaged. */
export interface ElementSpan {
  readonly tag: number;
  readonly vr?: string;
  readonly at: number;
  readonly valueAt: number;
  readonly end: number;
  damaged?: string;
}

/** An undefined-length value to hand to dcmjs as an opaque defined-length one (UN sequence, nested pixels). */
export interface OpaqueValue {
  readonly at: number;
  readonly end: number;
}

/** How the data set is encoded. */
export interface WalkSyntax {
  readonly little: boolean;
  readonly explicit: boolean;
}

/** What the walk found. */
export interface WalkResult {
  /** Top-level elements before the pixel data group (the header). */
  readonly elements: ReadonlyArray<ElementSpan>;
  readonly pixel?: PixelElement;
  /** Offset of the first top-level element of group 7FE0. */
  readonly pixelGroupStart?: number;
  readonly extendedOffsets?: { readonly offsets: Uint8Array; readonly lengths: Uint8Array };
  readonly opaque: ReadonlyArray<OpaqueValue>;
  /** What was read past: duplicates, unreadable bytes after the pixel data. */
  readonly warnings: ReadonlyArray<string>;
  /** Offset of the first element of the data set. */
  readonly start: number;
}

const UNDEFINED_LENGTH = 0xffffffff;

/** One element header. */
interface Head {
  readonly tag: number;
  readonly vr?: string;
  readonly length: number;
  readonly at: number;
  readonly valueAt: number;
}

/** The tags seen in one data set (top level or an item), for duplicates. */
class TagLog {
  private readonly seen = new Map<number, Head>();
  constructor(private readonly where: string) {}

  /** The earlier element with the same tag, after recording this one. */
  note(h: Head): Head | undefined {
    const before = this.seen.get(h.tag);
    this.seen.set(h.tag, h);
    return before === undefined ? undefined : before;
  }

  describe(h: Head, before: Head): string {
    return `${
      tagName(h.tag)
    } appears twice ${this.where} (at bytes ${before.at} and ${h.at}); the last one ` +
      "is used.";
  }
}

/** Walks one data set; one instance per walk (the state is the position in the structure and the counts). */
export class DatasetWalker {
  private readonly view: DataView;
  private readonly elements: ElementSpan[] = [];
  private readonly opaque: OpaqueValue[] = [];
  private readonly warnings: string[] = [];
  private pixel?: PixelElement;
  private pixelGroupStart?: number;
  private eotOffsets?: Uint8Array;
  private eotLengths?: Uint8Array;
  private itemCount = 0;
  private elementCount = 0;
  /** Inside an undefined-length UN value: implicit VR little endian (PS3.5 6.2.2). */
  private unDepth = 0;
  private topCount = 0;

  /**
   * @param stopAtPixelData header only: stop at the pixel element (read neither it nor what follows)
   * @param guessing the transfer syntax is being guessed: a header-only walk still reads the fragment items
   *   (their codec markers tell the syntax)
   */
  constructor(
    private readonly bytes: Uint8Array,
    private readonly syntax: WalkSyntax,
    private readonly limits: DecodeLimits,
    private readonly stopAtPixelData: boolean,
    private readonly guessing = false,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Walks the data set from `start` to the end of the bytes.
   *
   * @throws DicomDecodeError TRUNCATED or INVALID_DICOM where the structure is lost before the pixel data;
   *   {@link FatalDecodeError} past a limit
   */
  walk(start: number): WalkResult {
    const log = new TagLog("in the data set");
    let pos = start;
    while (pos < this.bytes.length && !this.done()) {
      if (this.pixelComplete()) {
        pos = this.trailing(pos, log);
      } else {
        pos = this.topElement(pos, log);
      }
    }
    const eot = this.eotOffsets && this.eotLengths
      ? { offsets: this.eotOffsets, lengths: this.eotLengths }
      : undefined;
    return {
      elements: this.elements,
      pixel: this.pixel,
      pixelGroupStart: this.pixelGroupStart,
      extendedOffsets: eot,
      opaque: this.opaque,
      warnings: this.warnings,
      start,
    };
  }

  /** Top-level elements read so far (how far a walk that failed got). */
  get topElements(): number {
    return this.topCount;
  }

  private done(): boolean {
    return this.pixel !== undefined && (this.stopAtPixelData || this.pixelCutShort());
  }

  private pixelComplete(): boolean {
    return this.pixel !== undefined && !this.pixelCutShort();
  }

  private pixelCutShort(): boolean {
    const p = this.pixel;
    return p?.value !== undefined && p.declaredLength !== undefined && p.value.length < p.declaredLength;
  }

  /** An element after the complete pixel data: anything unreadable there is a warning, not a failure. */
  private trailing(pos: number, log: TagLog): number {
    try {
      return this.topElement(pos, log);
    } catch (e) {
      if (e instanceof FatalDecodeError || !(e instanceof DicomDecodeError)) throw e;
      this.warn(
        `${this.bytes.length - pos} byte(s) after the complete Pixel Data, from byte ${pos}, do not form ` +
          `valid data elements (${e.detail}); they were ignored.`,
      );
      return this.bytes.length;
    }
  }

  /** One top-level element; returns the position after it. */
  private topElement(pos: number, log: TagLog): number {
    const h = this.head(pos, 0);
    this.checkDuplicate(h, log);
    if (groupOf(h.tag) === 0x7fe0) {
      this.pixelGroupStart ??= pos;
      const pixelTag = PIXEL_TAGS.get(h.tag);
      if (pixelTag) return this.pixelElement(h, pixelTag);
    }
    if (h.length === UNDEFINED_LENGTH) {
      const end = this.undefinedValue(h, 0);
      if (this.pixelGroupStart === undefined) {
        this.elements.push({ tag: h.tag, vr: h.vr, at: h.at, valueAt: h.valueAt, end });
      }
      this.topCount++;
      return end;
    }
    const end = this.valueEnd(h);
    const span: ElementSpan = { tag: h.tag, vr: h.vr, at: h.at, valueAt: h.valueAt, end };
    if (this.pixelGroupStart === undefined) this.elements.push(span);
    try {
      this.definedValue(h, end, 0);
    } catch (e) {
      if (e instanceof FatalDecodeError || !(e instanceof DicomDecodeError)) throw e;
      span.damaged = e.detail;
    }
    if (h.tag === TAG.ExtendedOffsetTable) this.eotOffsets = this.bytes.subarray(h.valueAt, end);
    if (h.tag === TAG.ExtendedOffsetTableLengths) this.eotLengths = this.bytes.subarray(h.valueAt, end);
    this.topCount++;
    return end;
  }

  /** A repeated tag is a warning, unless the pixels depend on which of two different values is right. */
  private checkDuplicate(h: Head, log: TagLog): void {
    const before = log.note(h);
    if (!before) return;
    const critical = PIXEL_TAGS.has(h.tag) || PIXEL_INTERPRETATION_TAGS.has(h.tag);
    const same = this.sameValue(before, h);
    if (critical && same !== true) {
      throw new FatalDecodeError(
        "INVALID_DICOM",
        `${tagName(h.tag)} appears twice in the data set (at bytes ${before.at} and ${h.at})` +
          `${
            same === false ? " with different values" : ""
          }: it is not known which describes the image, so ` +
          "it is not decoded. Ask the sender for a valid file.",
      );
    }
    this.warn(log.describe(h, before));
  }

  /** Whether two elements have the same value bytes; undefined when that cannot be told here. */
  private sameValue(a: Head, b: Head): boolean | undefined {
    if (a.length === UNDEFINED_LENGTH || b.length === UNDEFINED_LENGTH) return undefined;
    if (a.length !== b.length || b.valueAt + b.length > this.bytes.length) return false;
    for (let i = 0; i < a.length; i++) {
      if (this.bytes[a.valueAt + i] !== this.bytes[b.valueAt + i]) return false;
    }
    return true;
  }

  /** A top-level pixel element: native value or encapsulated fragments, as views. */
  private pixelElement(h: Head, tag: PixelTag): number {
    if (this.stopAtPixelData) {
      this.pixel = { tag, vr: h.vr, at: h.at };
      if (this.guessing && h.length === UNDEFINED_LENGTH) this.peekFragments(h, tag);
      return this.bytes.length;
    }
    if (h.length === UNDEFINED_LENGTH) {
      if (tag !== "PixelData") return this.undefinedValue(h, 0);
      const items: Uint8Array[] = [];
      const end = this.fragments(h, items);
      this.pixel = { tag, vr: h.vr, at: h.at, items };
      return end;
    }
    const end = h.valueAt + h.length;
    this.pixel = {
      tag,
      vr: h.vr,
      at: h.at,
      value: this.bytes.subarray(h.valueAt, Math.min(end, this.bytes.length)),
      declaredLength: h.length,
    };
    return Math.min(end, this.bytes.length);
  }

  /** Header-only walk without a known syntax: the fragments, when they can be read. */
  private peekFragments(h: Head, tag: PixelTag): void {
    const items: Uint8Array[] = [];
    try {
      this.fragments(h, items);
      this.pixel = { tag, vr: h.vr, at: h.at, items };
    } catch (e) {
      if (e instanceof FatalDecodeError) throw e;
      // cut short or malformed: the header is still readable
    }
  }

  /** The end of a defined-length value, which must lie inside the file. */
  private valueEnd(h: Head, limit = this.bytes.length, container?: string): number {
    const end = h.valueAt + h.length;
    if (end <= limit) return end;
    if (container) {
      throw invalid(
        `${
          tagName(h.tag)
        } at byte ${h.at} has a ${h.length}-byte value, which runs past the end of ${container}`,
      );
    }
    throw this.truncated(
      `${tagName(h.tag)} at byte ${h.at}${h.vr ? ` (VR ${h.vr})` : ""} declares a ${h.length}-byte value`,
      end,
    );
  }

  /** Checks a defined-length value: binary VR sizes, and sequences (explicit SQ, or items in implicit/UN). */
  private definedValue(h: Head, end: number, depth: number): void {
    const size = h.vr ? VALUE_SIZE[h.vr] : undefined;
    if (size !== undefined && h.length % size !== 0) {
      throw invalid(
        `${tagName(h.tag)} at byte ${h.at} has VR ${h.vr}, whose values are ${size} bytes each, but a ` +
          `${h.length}-byte value`,
      );
    }
    if (h.vr === "SQ") {
      this.definedItems(h, end, depth + 1);
      return;
    }
    if ((h.vr === undefined || h.vr === "UN") && h.length >= 8 && this.startsWithItem(h.valueAt)) {
      // Perhaps a sequence (implicit VR, or UN): walk it when it reads as one, so limits hold; dcmjs decides.
      try {
        this.definedItems(h, end, depth + 1);
      } catch (e) {
        if (e instanceof FatalDecodeError) throw e;
      }
    }
  }

  private startsWithItem(at: number): boolean {
    const little = this.unDepth > 0 || this.syntax.little;
    return this.view.getUint16(at, little) === 0xfffe && this.view.getUint16(at + 2, little) === 0xe000;
  }

  /** An undefined-length value: a sequence, a UN sequence, or (nested) encapsulated pixel data. */
  private undefinedValue(h: Head, depth: number): number {
    const explicit = this.explicit();
    if (h.tag === TAG.PixelData && (!explicit || h.vr === "OB" || h.vr === "OW")) {
      const end = this.fragments(h, []);
      this.opaque.push({ at: h.at, end });
      return end;
    }
    if (!explicit || h.vr === "SQ") return this.undefinedItems(h, depth + 1);
    if (h.vr === "UN") {
      this.unDepth++;
      try {
        const end = this.undefinedItems(h, depth + 1);
        this.opaque.push({ at: h.at, end });
        return end;
      } finally {
        this.unDepth--;
      }
    }
    throw invalid(`${tagName(h.tag)} at byte ${h.at} has an undefined length but VR ${h.vr}`);
  }

  /** Items of an undefined-length sequence, up to its delimiter; returns the position after it. */
  private undefinedItems(owner: Head, depth: number): number {
    this.checkDepth(owner, depth);
    let pos = owner.valueAt;
    for (;;) {
      if (pos + 8 > this.bytes.length) {
        throw this.truncated(
          `the sequence ${tagName(owner.tag)} that starts at byte ${owner.at} (never closed)`,
          pos + 8,
        );
      }
      const item = this.itemHead(pos, `sequence ${tagName(owner.tag)}`);
      if (item.tag === TAG.SequenceDelimitationItem) return item.valueAt;
      pos = this.item(owner, item, depth, this.bytes.length);
    }
  }

  /** Items of a defined-length sequence value [valueAt, end). */
  private definedItems(owner: Head, end: number, depth: number): void {
    this.checkDepth(owner, depth);
    let pos = owner.valueAt;
    while (pos < end) {
      if (pos + 8 > end) {
        throw invalid(`the items of ${tagName(owner.tag)} do not fill its ${owner.length}-byte value`);
      }
      const item = this.itemHead(pos, `sequence ${tagName(owner.tag)}`);
      if (item.tag === TAG.SequenceDelimitationItem) return; // tolerated inside a defined length
      pos = this.item(owner, item, depth, end);
    }
  }

  /** One item (defined or undefined length) of a sequence; returns the position after it. */
  private item(owner: Head, item: Head, depth: number, limit: number): number {
    if (item.tag !== TAG.Item) {
      throw invalid(
        `${tagText(item.tag)} at byte ${item.at} in sequence ${tagName(owner.tag)} is not an item`,
      );
    }
    if (++this.itemCount > this.limits.maxItems) {
      throw new FatalDecodeError(
        "INVALID_DICOM",
        `The header holds more than ${this.limits.maxItems} sequence items (limit reached in ` +
          `${tagName(owner.tag)} at byte ${owner.at}): refused as a hostile or broken file.`,
      );
    }
    const where = `an item of ${tagName(owner.tag)}`;
    if (item.length === UNDEFINED_LENGTH) return this.nested(item.valueAt, depth, limit, where, true);
    const end = this.valueEnd(item, limit, `the sequence ${tagName(owner.tag)}`);
    const after = this.nested(item.valueAt, depth, end, where, false);
    if (after !== end) {
      throw invalid(`the elements of ${where} at byte ${item.at} do not fill its ${item.length} bytes`);
    }
    return end;
  }

  /** The elements of an item: up to `end`, or up to its item delimiter; returns the position after them. */
  private nested(pos: number, depth: number, end: number, where: string, delimited: boolean): number {
    const log = new TagLog(`in ${where}`);
    while (pos < end) {
      if (pos + 8 > end) break;
      const h = this.head(pos, depth, end);
      if (h.tag === TAG.ItemDelimitationItem && delimited) return h.valueAt;
      if (groupOf(h.tag) === 0xfffe) throw invalid(`unexpected ${tagText(h.tag)} at byte ${pos} in ${where}`);
      const before = log.note(h);
      if (before) this.warn(log.describe(h, before));
      if (h.length === UNDEFINED_LENGTH) {
        pos = this.undefinedValue(h, depth);
        continue;
      }
      const valueEnd = this.valueEnd(h, end, where);
      this.definedValue(h, valueEnd, depth);
      pos = valueEnd;
    }
    if (delimited) throw this.truncated(`${where} (its item delimiter is missing)`, this.bytes.length + 8);
    if (pos !== end) throw invalid(`${where} ends inside an element header at byte ${pos}`);
    return pos;
  }

  private checkDepth(owner: Head, depth: number): void {
    if (depth > this.limits.maxDepth) {
      throw new FatalDecodeError(
        "INVALID_DICOM",
        `Sequences are nested more than ${this.limits.maxDepth} levels deep (at ${
          tagName(owner.tag)
        }, byte ` +
          `${owner.at}): refused as a hostile or broken file.`,
      );
    }
  }

  /** Encapsulated pixel data (PS3.5 A.4): defined-length items up to the sequence delimiter. */
  private fragments(owner: Head, items: Uint8Array[]): number {
    let pos = owner.valueAt;
    for (;;) {
      if (pos + 8 > this.bytes.length) {
        throw this.truncated(
          `the encapsulated ${
            tagName(owner.tag)
          } that starts at byte ${owner.at} (its sequence delimiter is ` +
            `missing after ${items.length} item(s))`,
          pos + 8,
        );
      }
      const item = this.itemHead(pos, "encapsulated Pixel Data");
      if (item.tag === TAG.SequenceDelimitationItem) return item.valueAt;
      if (item.tag !== TAG.Item || item.length === UNDEFINED_LENGTH) {
        throw invalid(
          `fragment item ${items.length} of the encapsulated Pixel Data at byte ${pos} has an undefined ` +
            "length (fragments must have explicit lengths)",
        );
      }
      if (++this.itemCount > this.limits.maxItems) {
        throw new FatalDecodeError(
          "INVALID_DICOM",
          `The encapsulated Pixel Data at byte ${owner.at} has more than ${this.limits.maxItems} fragments: ` +
            "refused as a hostile or broken file.",
        );
      }
      const what = items.length === 0 ? "the Basic Offset Table" : `fragment ${items.length}`;
      const end = item.valueAt + item.length;
      if (end > this.bytes.length) {
        throw this.truncated(
          `${what} of the encapsulated Pixel Data at byte ${pos} (${item.length} bytes)`,
          end,
        );
      }
      items.push(this.bytes.subarray(item.valueAt, end));
      pos = end;
    }
  }

  private explicit(): boolean {
    return this.unDepth === 0 && this.syntax.explicit;
  }

  private little(): boolean {
    return this.unDepth > 0 || this.syntax.little;
  }

  /** The header of the element at `pos` (which must fit before `limit`). */
  private head(pos: number, depth: number, limit = this.bytes.length): Head {
    if (++this.elementCount > this.limits.maxElements) {
      throw new FatalDecodeError(
        "INVALID_DICOM",
        `The header holds more than ${this.limits.maxElements} data elements: refused as a hostile or ` +
          "broken file.",
      );
    }
    if (pos + 8 > limit) throw this.truncated(`the data element header at byte ${pos}`, pos + 8);
    const little = this.little();
    const tag = ((this.view.getUint16(pos, little) << 16) | this.view.getUint16(pos + 2, little)) >>> 0;
    if (groupOf(tag) === 0xfffe || !this.explicit()) {
      if (groupOf(tag) === 0xfffe && depth === 0) {
        throw invalid(`unexpected ${tagText(tag)} (an item or delimiter) at byte ${pos} in the data set`);
      }
      return { tag, length: this.view.getUint32(pos + 4, little), at: pos, valueAt: pos + 8 };
    }
    const vr = vrAt(this.bytes, pos + 4);
    if (vr === undefined) {
      const found = String.fromCharCode(this.bytes[pos + 4], this.bytes[pos + 5]).replace(/[^ -~]/g, "?");
      throw invalid(
        `data element ${tagText(tag)} at byte ${pos} has "${found}" where its value representation should ` +
          "be (is the transfer syntax in the file meta right, or is the element damaged?)",
      );
    }
    if (!LONG_VRS.has(vr)) {
      return { tag, vr, length: this.view.getUint16(pos + 6, little), at: pos, valueAt: pos + 8 };
    }
    if (pos + 12 > limit) throw this.truncated(`the header of ${tagName(tag)} at byte ${pos}`, pos + 12);
    return { tag, vr, length: this.view.getUint32(pos + 8, little), at: pos, valueAt: pos + 12 };
  }

  /** An item or sequence delimiter header at `pos`; anything else is INVALID_DICOM. */
  private itemHead(pos: number, where: string): Head {
    const little = this.little();
    const tag = ((this.view.getUint16(pos, little) << 16) | this.view.getUint16(pos + 2, little)) >>> 0;
    if (tag !== TAG.Item && tag !== TAG.SequenceDelimitationItem) {
      throw invalid(
        `${where}: expected an item or a sequence delimiter at byte ${pos}, found ${tagText(tag)}`,
      );
    }
    return { tag, length: this.view.getUint32(pos + 4, little), at: pos, valueAt: pos + 8 };
  }

  private truncated(what: string, needed: number): DicomDecodeError {
    return truncatedError(what, needed, this.bytes.length);
  }

  private warn(text: string): void {
    if (this.warnings.length < 20) this.warnings.push(text);
    else if (this.warnings.length === 20) {
      this.warnings.push("(further warnings of this file are not listed)");
    }
  }
}

function invalid(text: string): DicomDecodeError {
  return new DicomDecodeError(
    "INVALID_DICOM",
    `Malformed DICOM data: ${text}. The file is damaged; ask the sender for a valid copy.`,
    text,
  );
}
