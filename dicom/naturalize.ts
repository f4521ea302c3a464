/**
 * dcmjs 0.52.2's `DicomMetaDictionary.naturalizeDataset(dict)`, done natively for the dicts the native reader
 * (attributes.ts) makes: the same object graph, write for write, without going through the data set's Proxy
 * for every property.
 *
 * dcmjs makes each naturalized data set with `ValueRepresentation.addTagAccessors({ _vrMap: {} })` (a Proxy
 * whose `set` trap gives PN values their accessors) and writes every property through it. {@link naturalizeDict}
 * makes the same Proxy with that same call, keeps its target, and writes to the target what the trap would
 * store ({@link accessorsOf}, {@link write}), in dcmjs's order: `_vrMap` entries for an `ox` dictionary VR and
 * for a VR other than the dictionary's, `null` for an absent value, the value (sequences naturalized item by
 * item), then a one-value array unwrapped to its value, or, where that value is an object without a length
 * (an item, a PN object, an ArrayBuffer), wrapped the way dcmjs's `addAccessors` wraps it ({@link oneItem}).
 * Names come from dcmjs's dictionary and `nameMap`, looked up as dcmjs looks them up on every call (users
 * may change both); only the tags the dictionary did not know are remembered, while it provably still does
 * not ({@link lookUp}). The target is handed back too: reading it is reading the data set, faster
 * (header.ts copies it).
 *
 * It first checks the whole dict without writing anything ({@link plan}) and declines (returns undefined,
 * and dcmjs naturalizes) where it is not sure to write what dcmjs writes: an InlineBinary or BulkDataURI
 * value, a value that is not an array, a key not of the form `GGGGEEEE`, a name from the dictionary that is
 * not a plain string or that names one of the data set's own fields or an `Object.prototype` property, and
 * a `naturalizeDataset` or `addTagAccessors` replaced at run time.
 *
 * @module
 */
import { data as dcmjsData } from "dcmjs";
import type { DcmjsDict, DcmjsElement } from "./attributes.ts";

interface ValueRepresentationClass {
  addTagAccessors<T extends object>(tag: T): T;
  hasValueAccessors(type: unknown): boolean;
  createByTypeString(type: unknown): { addValueAccessors(value: unknown): unknown };
}
interface DcmjsParts {
  ValueRepresentation: ValueRepresentationClass;
  DicomMetaDictionary: {
    naturalizeDataset(dict: DcmjsDict): Record<string, unknown>;
    dictionary: Record<string, { name?: unknown; vr?: unknown } | undefined>;
    nameMap: Record<string, { vr?: unknown }>;
  };
}
const DCMJS = dcmjsData as unknown as DcmjsParts;
/** The functions this module reproduces or relies on, as dcmjs ships them. */
const NATURALIZE = DCMJS.DicomMetaDictionary.naturalizeDataset;
const ADD_TAG_ACCESSORS = DCMJS.ValueRepresentation.addTagAccessors;

/** A naturalized data set's target, as `addTagAccessors({ _vrMap: {} })` has it. */
type Target = Record<string, unknown> & { _vrMap: Record<string, unknown> };

/**
 * What {@link plan} found, in the order {@link apply} meets it: the keys of each dict (items in pre-order),
 * and each element's name and dictionary VR (NO_ENTRY where the dictionary does not know the tag).
 */
interface Plan {
  readonly keys: string[][];
  readonly names: string[];
  readonly entryVrs: unknown[];
  nextDict: number;
  nextElement: number;
}
const NO_ENTRY = Symbol("no entry");

/** Names the native writes would treat differently from the trap (or that the trap itself trips on). */
const RESERVED: ReadonlySet<string> = new Set(["_vrMap", "__hasTagAccessors", "vr", "Value", "values"]);

/** A naturalized data set and the plain object behind its Proxy. */
export interface Naturalized {
  readonly dataset: Record<string, unknown>;
  /**
   * The Proxy's target: the Proxy has no trap but `set`, so reading the target (keys, order, descriptors,
   * values) is reading the data set, without the Proxy's slow path (a copy `{ ...target }` is `{ ...dataset }`).
   */
  readonly target: Record<string, unknown>;
}

/**
 * dcmjs's `naturalizeDataset(dict)`, the same in every way code can tell; undefined where it declines (then
 * nothing has been written, and the dict is as it was).
 */
export function naturalizeDict(dict: DcmjsDict): Naturalized | undefined {
  const { DicomMetaDictionary, ValueRepresentation } = DCMJS;
  if (DicomMetaDictionary.naturalizeDataset !== NATURALIZE) return undefined;
  if (ValueRepresentation.addTagAccessors !== ADD_TAG_ACCESSORS) return undefined;
  const found: Plan = { keys: [], names: [], entryVrs: [], nextDict: 0, nextElement: 0 };
  const dictionary = DicomMetaDictionary.dictionary;
  // no entries of its own (users' additions): the usual case, where unknown tags need no check each
  const plain = Reflect.ownKeys(dictionary).length === 0;
  if (!plan(dict, dictionary, plain, found)) return undefined;
  const target: Target = { _vrMap: {} };
  return { dataset: apply(dict, found, target), target };
}

/**
 * Checks a dict (and its items) without writing anything, and records its keys and each element's name and
 * dictionary VR in the order `naturalizeDataset` looks them up; false where the native path declines.
 */
function plan(dict: DcmjsDict, dictionary: Dictionary, plain: boolean, found: Plan): boolean {
  const keys = Object.keys(dict);
  found.keys.push(keys);
  for (const key of keys) {
    const data: DcmjsElement | undefined = dict[key];
    const punctuated = punctuate(key);
    if (punctuated === undefined || typeof data !== "object" || data === null) return false;
    const withMeta = data as { InlineBinary?: unknown; BulkDataURI?: unknown };
    if (withMeta.InlineBinary !== undefined || withMeta.BulkDataURI !== undefined) return false;
    const entry = lookUp(dictionary, punctuated, plain);
    const name = entry ? entry.name : key;
    if (typeof name !== "string" || RESERVED.has(name) || name in Object.prototype) return false;
    found.names.push(name);
    found.entryVrs.push(entry ? entry.vr : NO_ENTRY);
    const value = data.Value;
    if (value === undefined) continue;
    if (!Array.isArray(value)) return false;
    if (data.vr !== "SQ") continue;
    for (const index of Object.keys(value)) {
      const item = value[index as unknown as number];
      if (typeof item !== "object" || item === null || !plan(item, dictionary, plain, found)) return false;
    }
  }
  return true;
}

type Dictionary = DcmjsParts["DicomMetaDictionary"]["dictionary"];
/** Tags dcmjs's dictionary did not know, and the dictionary (dcmjs's Proxy) they were looked up in. */
const unknownTags = new Set<string>();
let unknownIn: Dictionary | undefined;

/**
 * `dictionary[punctuated]`, as dcmjs looks it up, except that a tag it did not know is not looked up again
 * (its range scan is the slow part) while the dictionary is the same object and has no entry of its own for
 * the tag (`plain`: it has none at all): dcmjs's dictionary Proxy answers from such entries first, and
 * otherwise from its built-in tables (which do not change) and a cache of the tags it found.
 */
function lookUp(
  dictionary: Dictionary,
  punctuated: string,
  plain: boolean,
): { name?: unknown; vr?: unknown } | undefined {
  if (
    dictionary === unknownIn && unknownTags.has(punctuated) &&
    (plain || !Object.hasOwn(dictionary, punctuated))
  ) {
    return undefined;
  }
  const entry = dictionary[punctuated];
  if (entry === undefined) {
    if (dictionary !== unknownIn) {
      unknownTags.clear();
      unknownIn = dictionary;
    }
    if (unknownTags.size < 4096) unknownTags.add(punctuated);
  }
  return entry;
}

/**
 * `naturalizeDataset` of a dict {@link plan} accepted (what it found consumed in order), written to `target`
 * (a fresh `{ _vrMap: {} }`).
 */
function apply(dict: DcmjsDict, found: Plan, target: Target = { _vrMap: {} }): Record<string, unknown> {
  const dataset = DCMJS.ValueRepresentation.addTagAccessors(target);
  for (const key of found.keys[found.nextDict++]) {
    const data = dict[key];
    const name = found.names[found.nextElement];
    const entryVr = found.entryVrs[found.nextElement++];
    if (entryVr !== NO_ENTRY) {
      if (entryVr == "ox") target._vrMap[name] = data.vr;
      if (data.vr !== entryVr) target._vrMap[name] = data.vr;
    }
    if (data.Value === undefined) {
      write(target, name, accessorsOf(name), null);
      continue;
    }
    const value = data.vr === "SQ" ? items(data.Value as DcmjsDict[], found) : data.Value as unknown[];
    const vr = accessorsOf(name);
    if (vr) {
      write(target, name, vr, value);
      unwrapOne(target, name, vr);
    } else {
      target[name] = value.length === 1 ? unwrapped(value, value[0]) : value;
    }
  }
  return dataset;
}

/** A sequence's items, each naturalized (dcmjs walks `Object.keys` of the array). */
function items(value: DcmjsDict[], found: Plan): unknown[] {
  const natural: unknown[] = [];
  for (const index of Object.keys(value)) natural.push(apply(value[index as unknown as number], found));
  return natural;
}

/**
 * A one-value array stored under `name` (a name whose values get accessors) replaced by its value, or, for
 * an object without a length, by dcmjs's `addAccessors` Proxy of it.
 */
function unwrapOne(target: Target, name: string, vr: ValueAccessors): void {
  const stored = target[name] as ArrayLike<unknown>;
  if (stored.length !== 1) return;
  write(target, name, vr, unwrapped(target[name], stored[0]));
}

/** What dcmjs puts in place of a one-value array `stored`: its value, or its `addAccessors` Proxy. */
function unwrapped(stored: unknown, first: unknown): unknown {
  if (first && typeof first === "object" && !(first as ArrayLike<unknown>).length) {
    return oneItem(stored, first);
  }
  return first;
}

type ValueAccessors = { addValueAccessors(value: unknown): unknown };

/**
 * The VR whose accessors dcmjs's `tagProxyHandler.set` gives a value written under `name` (never "values"
 * or "Value", see RESERVED): the VR `nameMap` has for the name, where that VR has any (PN); else undefined,
 * and the trap stores the value as it is. Asked once per element: between an element's writes, no code runs
 * that could change `nameMap`, and where the answer is undefined, its two writes (the array, then its one
 * value) leave what one write of the last value leaves (the key is made by the first, in the same place).
 */
function accessorsOf(name: string): ValueAccessors | undefined {
  const { DicomMetaDictionary, ValueRepresentation } = DCMJS;
  const nameMap = DicomMetaDictionary.nameMap;
  if (name in nameMap && ValueRepresentation.hasValueAccessors(nameMap[name].vr)) {
    return ValueRepresentation.createByTypeString(nameMap[name].vr);
  }
  return undefined;
}

/** What the trap stores: the value given `vr`'s accessors where there is one. */
function write(target: Target, name: string, vr: ValueAccessors | undefined, value: unknown): void {
  target[name] = vr ? vr.addValueAccessors(value) : value;
}

/** dcmjs's `addAccessors(dest, sqZero)` (not exported by dcmjs): the one-item array as a Proxy. */
function oneItem(dest: unknown, first: unknown): unknown {
  if ((dest as { __isProxy?: unknown }).__isProxy) return dest;
  if (Array.isArray(dest)) {
    dest.length = 0;
    dest.push(first);
    return new Proxy(dest, ONE_ITEM_HANDLER);
  }
  return new Proxy([first], ONE_ITEM_HANDLER);
}

/** dcmjs's `handler` of `addAccessors`: reads and writes go to the array, else to its one item. */
// deno-lint-ignore no-explicit-any
const ONE_ITEM_HANDLER: ProxyHandler<any[]> = {
  get: function get(target, prop) {
    if (prop == "__isProxy") return true;
    if (prop in target) return target[prop as never];
    return target[0][prop];
  },
  set: function set(obj, prop, value) {
    if (typeof prop === "number") {
      obj[prop] = value;
    } else if (prop in obj) {
      obj[prop as never] = value as never;
    } else {
      obj[0][prop] = value;
    }
    return true;
  },
};

const punctuated = new Map<string, string>();
/** dcmjs's `punctuateTag` of a `GGGGEEEE` key (`"(GGGG,EEEE)"`); undefined for any other key. */
function punctuate(key: string): string | undefined {
  let p = punctuated.get(key);
  if (p === undefined) {
    if (!/^[0-9A-F]{8}$/.test(key)) return undefined;
    p = `(${key.substring(0, 4)},${key.substring(4, 8)})`;
    if (punctuated.size < 4096) punctuated.set(key, p);
  }
  return p;
}
