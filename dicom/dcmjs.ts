/**
 * The attribute values of a data set: read natively into dcmjs's "dict" form (attributes.ts) where that is
 * proven equal to what dcmjs would read, else read by dcmjs itself (its data dictionary and value parsing),
 * behind a facade that hands it only what it can read. The native reader's dicts are naturalized natively
 * (naturalize.ts: the same object graph as dcmjs's `naturalizeDataset`) where that is sure to be equal, else
 * by dcmjs's `naturalizeDataset`, which also naturalizes every dict dcmjs read.
 *
 * The native reader reads the header elements the structure walk found in place. Where it declines (a
 * character set other than the default, ISO_IR 100 or ISO_IR 192, and the other cases attributes.ts lists),
 * dcmjs gets a fresh, minimal Part 10 file made of those elements (never the file's own file meta, never the
 * pixel data), with the undefined-length values it cannot read (UN sequences, nested encapsulated pixel
 * data) turned into opaque defined-length ones of the same bytes. When it still fails on a value, each
 * element is read on its own and the ones it cannot read are reported as damaged (the caller decides whether
 * that is a warning or a failure); dcmjs's own words never reach the user. Its console logging is silenced
 * around its reading (naturalizing does not log).
 *
 * The decoder reads files with {@link readHeaderAttributes}: where the native reader and naturalizer take a
 * file and naming it cannot fail, the values are read and named only for the attributes dcmflow reads
 * (keywords.ts), and the whole data set when it is first asked for; everything that decides a warning or an
 * error is still decided when the file is read.
 *
 * @module
 */
import { data as dcmjsData, log as dcmjsLog } from "dcmjs";
import {
  type DcmjsDict,
  dictKey,
  readDict,
  readDictLater,
  rewrittenOpaque,
  settleAll,
} from "./attributes.ts";
import { concatBytes } from "./bytes.ts";
import { READ_KEYWORDS } from "./keywords.ts";
import {
  type Naturalized,
  naturalizeDict,
  naturalizeNamed,
  type NaturalizePlan,
  naturalizePlanned,
  planNaturalizing,
} from "./naturalize.ts";
import { wrapDataset } from "./part10.ts";
import { TAG, tagName, tagText } from "./tags.ts";
import type { ElementSpan, OpaqueValue } from "./walk.ts";

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
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: DcmjsReadOptions): { dict: DcmjsDict } };
    DicomMetaDictionary: {
      naturalizeDataset(dict: DcmjsDict): Record<string, unknown>;
      dictionary: Record<string, { name?: string } | undefined>;
    };
  };
  log: DcmjsLogger;
}
// named imports, so that a bundle keeps only what is used (not its adapters, normalizers, SR templates)
const DCMJS = { data: dcmjsData, log: dcmjsLog } as unknown as Dcmjs;
const SILENT = 5;

/** What dcmjs is given: the walked bytes and where the header elements are in them. */
export interface AttributeSource {
  readonly bytes: Uint8Array;
  /** The (non-deflated) transfer syntax dcmjs reads the elements with. */
  readonly syntax: string;
  readonly little: boolean;
  readonly explicit: boolean;
  /** The top-level header elements, in file order. */
  readonly elements: ReadonlyArray<ElementSpan>;
  readonly opaque: ReadonlyArray<OpaqueValue>;
}

/** A header element dcmjs could not read. */
export interface UnreadElement {
  readonly span: ElementSpan;
  /** In DICOM terms. */
  readonly why: string;
}

/** The naturalized attributes, the elements left out, and what was read past. */
export interface Attributes {
  readonly dataset: Record<string, unknown>;
  /** Where the native naturalizer made `dataset`: the plain object behind its Proxy (see naturalize.ts). */
  readonly target?: Record<string, unknown>;
  readonly unread: ReadonlyArray<UnreadElement>;
  readonly warnings: ReadonlyArray<string>;
}

/**
 * The attributes of a file as the decoder reads them: those dcmflow reads (keywords.ts) named at once, the
 * whole data set named when first asked for (where the native naturalizer can name it later), and what was
 * left out or read past, known at once either way.
 */
export interface HeaderAttributes {
  /**
   * The naturalized attributes of keywords.ts's READ_KEYWORDS, as the whole data set has them (a plain
   * object); the whole data set itself where it was naturalized at once.
   */
  readonly dataset: Record<string, unknown>;
  /** The whole naturalized data set (and the target behind its Proxy, where there is one), made once. */
  readonly whole: () => Pick<Attributes, "dataset" | "target">;
  readonly unread: ReadonlyArray<UnreadElement>;
  readonly warnings: ReadonlyArray<string>;
}

let nativeReader = true;
let nativeNaturalizer = true;
let lateNaming = true;

/** Tests: turns naming the whole data set late off (`false`: {@link readHeaderAttributes} names it at once). */
export function useLateNaming(on: boolean): void {
  lateNaming = on;
}

/** Tests: turns the native naturalizer off (`false`: dcmjs naturalizes the native reader's dicts too) and on. */
export function useNativeNaturalizer(on: boolean): void {
  nativeNaturalizer = on;
}

/** Tests: turns the native reader off (`false`: dcmjs reads every file) and on again. */
export function useNativeReader(on: boolean): void {
  nativeReader = on;
}

/** Reads the attribute values of the header elements (damaged ones are left out and reported). */
export function readAttributes(src: AttributeSource): Attributes {
  const spans = undamaged(src);
  return attributesOf(src, spans, nativeReader ? readDict(src, spans) : undefined);
}

/**
 * {@link readAttributes} for the decoder: where the native reader reads the file and the native naturalizer
 * is sure to name its dict without throwing, the attributes dcmflow reads are named now and the whole data
 * set when {@link HeaderAttributes.whole} is first called (the same objects {@link readAttributes} makes);
 * otherwise everything now, as {@link readAttributes} does. Nothing is left out either way (a damaged element
 * is found by the walk, a value dcmjs cannot name only where the native naturalizer throws).
 */
export function readHeaderAttributes(src: AttributeSource): HeaderAttributes {
  const spans = undamaged(src);
  const late = nativeNaturalizer && lateNaming;
  const dict = nativeReader ? (late ? readDictLater : readDict)(src, spans) : undefined;
  const planned = dict && late ? planNaturalizing(dict) : undefined;
  if (planned && !planned.mayThrow) return namedLate(planned, damagedOf(src));
  const now = attributesOf(src, spans, dict && settleAll(dict));
  return { dataset: now.dataset, whole: () => now, unread: now.unread, warnings: now.warnings };
}

/** The attributes of a planned dict: those read named now, the whole data set on the first call. */
function namedLate(planned: NaturalizePlan, unread: UnreadElement[]): HeaderAttributes {
  let whole: Naturalized | undefined;
  return {
    dataset: naturalizeNamed(planned, READ_KEYWORDS),
    whole: () => whole ??= naturalizePlanned(planned),
    unread,
    warnings: [],
  };
}

/** The header elements the walk could read. */
function undamaged(src: AttributeSource): ElementSpan[] {
  return src.elements.filter((e) => e.damaged === undefined);
}

/** The header elements the walk found damaged, each with why. */
function damagedOf(src: AttributeSource): UnreadElement[] {
  return src.elements.filter((e) => e.damaged !== undefined).map((span) => ({ span, why: span.damaged! }));
}

/** The attributes of the undamaged `spans`, from the native reader's `dict` where it read them, else dcmjs. */
function attributesOf(
  src: AttributeSource,
  spans: ReadonlyArray<ElementSpan>,
  dict: DcmjsDict | undefined,
): Attributes {
  const damaged = damagedOf(src);
  const native = dict ? readNatively(dict, spans) : undefined;
  if (native) return { ...native, unread: [...damaged, ...native.unread] };
  const whole = quietly(() => readWhole(src, spans));
  if (whole) return { ...whole, unread: [...damaged, ...whole.unread] };
  const one = quietly(() => readOneByOne(src, spans));
  return { ...one, unread: [...damaged, ...one.unread] };
}

/**
 * The native reader's dict, naturalized natively (naturalize.ts) or, where that declines or meets a value
 * dcmjs would throw on, by dcmjs.
 */
function readNatively(dict: DcmjsDict, spans: ReadonlyArray<ElementSpan>): Attributes {
  const native = nativeNaturalizer ? naturalizeNatively(dict) : undefined;
  if (native) return { dataset: native.dataset, target: native.target, unread: [], warnings: [] };
  const { dataset, unread } = naturalize(dict, spans);
  return { dataset, unread, warnings: [] };
}

/**
 * {@link naturalizeDict}, undefined where it declines or throws. It throws only where dcmjs's
 * `naturalizeDataset` throws at the same write, after the same changes to the dict (accessors added to PN
 * values, one-item arrays refilled with their item), which dcmjs repeats without effect; so dcmjs, run then,
 * gives what it gives on the dict as read, and reports the elements it cannot naturalize.
 */
function naturalizeNatively(dict: DcmjsDict): Naturalized | undefined {
  try {
    return naturalizeDict(dict);
  } catch {
    return undefined;
  }
}

/** Tests: the dict dcmjs reads from the assembled file of the undamaged elements (throws where dcmjs does). */
export function dcmjsDict(src: AttributeSource): DcmjsDict {
  return quietly(() => parse(assemble(src, undamaged(src)), false));
}

/** All elements in one dcmjs read; undefined when that fails (then they are read one by one). */
function readWhole(src: AttributeSource, spans: ReadonlyArray<ElementSpan>): Attributes | undefined {
  const file = assemble(src, spans);
  const warnings: string[] = [];
  let dict: DcmjsDict;
  try {
    dict = parse(file, false);
  } catch (e) {
    if (!isCharsetError(e)) return undefined;
    warnings.push(charsetWarning(src, spans));
    try {
      dict = parse(file, true);
    } catch {
      return undefined;
    }
    // dcmjs's lenient mode stops silently at the first value it cannot read: all must be there.
    if (new Set(spans.map((s) => s.tag)).size !== Object.keys(dict).length) return undefined;
  }
  const { dataset, unread } = naturalize(dict, spans);
  return { dataset, unread, warnings };
}

/** Each element in its own dcmjs read (after Specific Character Set), the unreadable ones left out. */
function readOneByOne(src: AttributeSource, spans: ReadonlyArray<ElementSpan>): Attributes {
  const charset = spans.find((s) => s.tag === TAG.SpecificCharacterSet);
  const lenient = charset !== undefined && !readable(() => parse(assemble(src, [charset]), false));
  const warnings = lenient ? [charsetWarning(src, spans)] : [];
  const dict: DcmjsDict = {};
  const unread: UnreadElement[] = [];
  for (const span of spans) {
    const key = dictKey(span.tag);
    const parts = charset && span !== charset ? [charset, span] : [span];
    let one: DcmjsDict | undefined;
    try {
      one = parse(assemble(src, parts), lenient);
    } catch {
      one = undefined;
    }
    if (one && key in one) dict[key] = one[key];
    else unread.push({ span, why: cannotRead(src, span) });
  }
  const natural = naturalize(dict, spans);
  return { dataset: natural.dataset, unread: [...unread, ...natural.unread], warnings };
}

function readable(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch {
    return false;
  }
}

/** dcmjs's naturalized dataset; entries it cannot naturalize are left out and reported. */
function naturalize(
  dict: DcmjsDict,
  spans: ReadonlyArray<ElementSpan>,
): { dataset: Record<string, unknown>; unread: UnreadElement[] } {
  try {
    return { dataset: DCMJS.data.DicomMetaDictionary.naturalizeDataset(dict), unread: [] };
  } catch {
    const dataset: Record<string, unknown> = {};
    const unread: UnreadElement[] = [];
    for (const [key, element] of Object.entries(dict)) {
      try {
        Object.assign(dataset, DCMJS.data.DicomMetaDictionary.naturalizeDataset({ [key]: element }));
      } catch {
        const span = spans.find((s) => dictKey(s.tag) === key);
        if (span) {
          unread.push({
            span,
            why: `${elementName(span.tag)} at byte ${span.at} has a value that cannot be interpreted`,
          });
        }
      }
    }
    return { dataset, unread };
  }
}

/** A Part 10 file of the given elements (copies), undefined-length opaque values made defined. */
function assemble(src: AttributeSource, spans: ReadonlyArray<ElementSpan>): Uint8Array {
  const parts = spans.map((s) => src.bytes.subarray(s.at, s.end));
  const file = wrapDataset(concatBytes(parts.length === 1 ? [parts[0].slice()] : parts), src.syntax);
  const base = file.length - parts.reduce((n, p) => n + p.length, 0);
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const rewritten = rewrittenOpaque(src.opaque, spans);
  let offset = base;
  for (const s of spans) {
    for (const [at, end] of rewritten) {
      if (at >= s.at && at < s.end) makeOpaque(file, v, offset + (at - s.at), end - at, src);
    }
    offset += s.end - s.at;
  }
  return file;
}

/** Rewrites the undefined-length element at `at` (its whole size `size`) as a defined-length opaque one. */
function makeOpaque(file: Uint8Array, v: DataView, at: number, size: number, src: AttributeSource): void {
  if (src.explicit) {
    file[at + 4] = 0x4f; // "O"
    file[at + 5] = 0x42; // "B"
    v.setUint16(at + 6, 0, src.little);
    v.setUint32(at + 8, size - 12, src.little);
  } else {
    v.setUint32(at + 4, size - 8, src.little);
  }
}

function parse(file: Uint8Array, ignoreErrors: boolean): DcmjsDict {
  const buffer = file.byteOffset === 0 && file.byteLength === file.buffer.byteLength &&
      file.buffer instanceof ArrayBuffer
    ? file.buffer
    : new Uint8Array(file).buffer;
  const options: DcmjsReadOptions = {
    ignoreErrors,
    untilTag: null,
    includeUntilTagValue: false,
    noCopy: false,
    forceStoreRaw: false,
  };
  return DCMJS.data.DicomMessage.readFile(buffer, options).dict;
}

function isCharsetError(e: unknown): boolean {
  return e instanceof Error && /character set/i.test(e.message);
}

function charsetWarning(src: AttributeSource, spans: ReadonlyArray<ElementSpan>): string {
  const span = spans.find((s) => s.tag === TAG.SpecificCharacterSet);
  const value = span
    ? Array.from(src.bytes.subarray(span.valueAt, span.end), (c) => String.fromCharCode(c)).join("").trim()
    : "";
  return `(0008,0005) SpecificCharacterSet "${value}" is not supported (or names several character sets); ` +
    "text values were read with the default character set and may show wrong characters.";
}

function cannotRead(src: AttributeSource, span: ElementSpan): string {
  const length = span.end - span.valueAt;
  const vr = span.vr ?? (src.explicit ? "" : "implicit VR");
  return `${elementName(span.tag)} at byte ${span.at} (${
    vr ? `${vr}, ` : ""
  }${length} bytes) cannot be read: ` +
    "its value does not fit its value representation";
}

/** `(GGGG,EEEE) Keyword`, the keyword from dcmjs's data dictionary when the reader does not name it. */
export function elementName(tag: number): string {
  const known = tagName(tag);
  if (known !== tagText(tag)) return known;
  const entry = DCMJS.data.DicomMetaDictionary.dictionary[tagText(tag)];
  return entry?.name ? `${tagText(tag)} ${entry.name}` : known;
}

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
