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
 * It first checks the whole dict without writing anything and plans the writes ({@link plan}: names, dictionary
 * VRs and accessors looked up then), so that the dict can be naturalized later ({@link naturalizePlanned}) or
 * only in part ({@link naturalizeNamed}: what dcmflow reads itself) with the same result. It declines (returns
 * undefined, and dcmjs naturalizes) where it is not sure to write what dcmjs writes: an InlineBinary or BulkDataURI
 * value, a value that is not an array, a key not of the form `GGGGEEEE`, a name from the dictionary that is
 * not a plain string or that names one of the data set's own fields or an `Object.prototype` property, and
 * a `naturalizeDataset` or `addTagAccessors` replaced at run time.
 *
 * @module
 */
import { data as dcmjsData } from "dcmjs";
import { type DcmjsDict, type DcmjsElement, PendingElement } from "./attributes.ts";

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
 * What {@link plan} found in one dict (the data set or an item), element by element in key order: its keys,
 * each element's name, dictionary VR (NO_ENTRY where the dictionary does not know the tag), the accessors its
 * values get ({@link accessorsOf}) and, for a sequence, its items' plans.
 */
interface DictPlan {
  readonly keys: string[];
  readonly names: string[];
  readonly entryVrs: unknown[];
  readonly accessors: (ValueAccessors | undefined)[];
  readonly items: (DictPlan[] | undefined)[];
}
const NO_ENTRY = Symbol("no entry");

/**
 * A dict the native naturalizer takes, and how ({@link planNaturalizing}): naturalizing it later gives what
 * naturalizing it now would, even where dcmjs's dictionary or `nameMap` changed in between (the names and
 * accessors were looked up when it was planned), as long as the dict is not changed.
 */
export interface NaturalizePlan {
  readonly dict: DcmjsDict;
  readonly top: DictPlan;
  /**
   * Naturalizing it may throw (dcmjs's PN accessors given a number, see {@link mayThrow}): then it is
   * naturalized at once, where dcmjs would have naturalized it, so that the elements dcmjs cannot naturalize
   * are known when the file is read.
   */
  readonly mayThrow: boolean;
}

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
  const planned = planNaturalizing(dict);
  return planned ? naturalizePlanned(planned) : undefined;
}

/** Checks a dict without writing anything and plans its naturalizing; undefined where it declines. */
export function planNaturalizing(dict: DcmjsDict): NaturalizePlan | undefined {
  const { DicomMetaDictionary, ValueRepresentation } = DCMJS;
  if (DicomMetaDictionary.naturalizeDataset !== NATURALIZE) return undefined;
  if (ValueRepresentation.addTagAccessors !== ADD_TAG_ACCESSORS) return undefined;
  const dictionary = DicomMetaDictionary.dictionary;
  // no entries of its own (users' additions): the usual case, where unknown tags need no check each
  const plain = Reflect.ownKeys(dictionary).length === 0;
  const found = { mayThrow: false };
  const top = plan(dict, dictionary, plain, found);
  return top ? { dict, top, mayThrow: found.mayThrow } : undefined;
}

/**
 * dcmjs's `naturalizeDataset` of a planned dict (throws where it throws, after the same changes to the dict).
 */
export function naturalizePlanned(planned: NaturalizePlan): Naturalized {
  const target: Target = { _vrMap: {} };
  return { dataset: apply(planned.dict, planned.top, target), target };
}

/**
 * The values the naturalized data set of a planned dict has under the given names, and only those, in a
 * plain object: the elements so named written as `naturalizeDataset` writes them, in the same order (the
 * last of two elements of one name wins there too); their values share the dict's arrays as the whole data
 * set's do. Never throws where {@link NaturalizePlan.mayThrow} is false.
 */
export function naturalizeNamed(
  planned: NaturalizePlan,
  names: ReadonlySet<string>,
): Record<string, unknown> {
  const target: Target = { _vrMap: {} };
  writeElements(planned.dict, planned.top, target, names);
  return target;
}

/**
 * Checks a dict (and its items) without writing anything, and plans it: its keys and each element's name,
 * dictionary VR and accessors, looked up as `naturalizeDataset` looks them up; undefined where the native
 * path declines.
 */
function plan(
  dict: DcmjsDict,
  dictionary: Dictionary,
  plain: boolean,
  found: { mayThrow: boolean },
): DictPlan | undefined {
  const keys = Object.keys(dict);
  const p: DictPlan = { keys, names: [], entryVrs: [], accessors: [], items: [] };
  for (const key of keys) {
    const data: DcmjsElement | undefined = dict[key];
    const punctuated = punctuate(key);
    if (punctuated === undefined || typeof data !== "object" || data === null) return undefined;
    const withMeta = data as { InlineBinary?: unknown; BulkDataURI?: unknown };
    if (withMeta.InlineBinary !== undefined || withMeta.BulkDataURI !== undefined) return undefined;
    const entry = lookUp(dictionary, punctuated, plain);
    const name = entry ? entry.name : key;
    if (typeof name !== "string" || RESERVED.has(name) || name in Object.prototype) return undefined;
    const accessors = accessorsOf(name);
    p.names.push(name);
    p.entryVrs.push(entry ? entry.vr : NO_ENTRY);
    p.accessors.push(accessors);
    if (data instanceof PendingElement && !accessors) {
      p.items.push(undefined); // a value the reader will read as an array, of an element not a sequence
      continue;
    }
    const value = data instanceof PendingElement ? data.settle().Value : data.Value;
    if (value !== undefined && !Array.isArray(value)) return undefined;
    if (accessors && mayThrow(value)) found.mayThrow = true;
    if (value === undefined || data.vr !== "SQ") {
      p.items.push(undefined);
      continue;
    }
    const items: DictPlan[] = [];
    for (const index of Object.keys(value)) {
      const item = value[index as unknown as number];
      if (typeof item !== "object" || item === null) return undefined;
      const itemPlan = plan(item, dictionary, plain, found);
      if (!itemPlan) return undefined;
      items.push(itemPlan);
    }
    p.items.push(items);
  }
  return p;
}

/**
 * Whether dcmjs's PN accessors, given the value of an element whose name has them, may throw: they throw on
 * a primitive other than a string, which a one-value array is unwrapped to (an array, an object, a string,
 * null and undefined take them).
 */
function mayThrow(value: unknown[] | undefined): boolean {
  if (value === undefined || value.length !== 1) return false;
  const first = value[0];
  return first !== undefined && first !== null && typeof first !== "string" && typeof first !== "object";
}

type Dictionary = DcmjsParts["DicomMetaDictionary"]["dictionary"];
type Entry = { name?: unknown; vr?: unknown };
/** The tags dcmjs's dictionary did not know, those it knew (with their entries), and the dictionary asked. */
const unknownTags = new Set<string>();
const knownTags = new Map<string, Entry>();
let rememberedIn: Dictionary | undefined;

/**
 * `dictionary[punctuated]`, as dcmjs looks it up, except that an answer is not asked for again while the
 * dictionary is the same object and has no entry of its own for the tag (`plain`: it has none at all; a tag
 * it did not know is not asked for either where it has entries, but none for that tag). dcmjs's dictionary
 * Proxy answers from such entries first, and otherwise from its built-in tables (which do not change)
 * through a cache of the entries it made, which it never empties: the same entry object every time (so a
 * user's change to an entry's fields is still seen: they are read from the entry).
 */
function lookUp(dictionary: Dictionary, punctuated: string, plain: boolean): Entry | undefined {
  if (dictionary !== rememberedIn) {
    unknownTags.clear();
    knownTags.clear();
    rememberedIn = dictionary;
  }
  if (plain) {
    const known = knownTags.get(punctuated);
    if (known !== undefined) return known;
  }
  if (unknownTags.has(punctuated) && (plain || !Object.hasOwn(dictionary, punctuated))) return undefined;
  const entry = dictionary[punctuated];
  if (entry === undefined) {
    if (unknownTags.size < 4096) unknownTags.add(punctuated);
  } else if (plain && knownTags.size < 4096) {
    knownTags.set(punctuated, entry);
  }
  return entry;
}

/** `naturalizeDataset` of a planned dict, written to `target` (a fresh `{ _vrMap: {} }`): its Proxy. */
function apply(dict: DcmjsDict, p: DictPlan, target: Target): Record<string, unknown> {
  const dataset = ADD_TAG_ACCESSORS.call(DCMJS.ValueRepresentation, target) as Record<string, unknown>;
  writeElements(dict, p, target, undefined);
  return dataset;
}

/** The elements of a planned dict (only those named in `only`, where given) written to `target`, in order. */
function writeElements(
  dict: DcmjsDict,
  p: DictPlan,
  target: Target,
  only: ReadonlySet<string> | undefined,
): void {
  for (let i = 0; i < p.keys.length; i++) {
    const name = p.names[i];
    if (only !== undefined && !only.has(name)) continue;
    const key = p.keys[i];
    const data = dict[key] instanceof PendingElement ? (dict[key] as PendingElement).settle() : dict[key];
    const entryVr = p.entryVrs[i];
    if (entryVr !== NO_ENTRY) {
      if (entryVr == "ox") target._vrMap[name] = data.vr;
      if (data.vr !== entryVr) target._vrMap[name] = data.vr;
    }
    const vr = p.accessors[i];
    if (data.Value === undefined) {
      write(target, name, vr, null);
      continue;
    }
    const itemPlans = p.items[i];
    const value = itemPlans ? items(data.Value as DcmjsDict[], itemPlans) : data.Value as unknown[];
    if (vr) {
      write(target, name, vr, value);
      unwrapOne(target, name, vr);
    } else {
      target[name] = value.length === 1 ? unwrapped(value, value[0]) : value;
    }
  }
}

/** A sequence's items, each naturalized (dcmjs walks `Object.keys` of the array, as {@link plan} did). */
function items(value: DcmjsDict[], plans: DictPlan[]): unknown[] {
  const natural: unknown[] = [];
  let k = 0;
  for (const index of Object.keys(value)) {
    natural.push(apply(value[index as unknown as number], plans[k++], { _vrMap: {} }));
  }
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
