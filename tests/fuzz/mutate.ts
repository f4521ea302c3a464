/**
 * Seeded mutations of DICOM files, for the fuzz suite (tests/fuzz_test.ts, `deno task fuzz`).
 *
 * Each mutant is one base file changed by one or two mutators: blind ones (bit flips, random bytes,
 * truncation, inserted or deleted ranges, a stripped preamble) and structural ones that aim at the element
 * headers found by a small independent element scanner (lengths set huge, undefined, odd or zero, VRs
 * garbled, elements duplicated, dropped or swapped, delimiters injected or removed). The same seed gives
 * the same mutants, so a failure is reproducible from its label.
 *
 * @module
 */

/** A deterministic pseudo-random generator (mulberry32): floats in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One element header found by {@link scanElements}. */
export interface ElementSpot {
  /** Offset of the tag. */
  readonly at: number;
  /** Offset and size (2 or 4) of the length field. */
  readonly lengthAt: number;
  readonly lengthSize: 2 | 4;
  /** Offset of the VR (explicit syntaxes), or -1. */
  readonly vrAt: number;
  /** End of the element (value included); the data end for undefined lengths. */
  readonly end: number;
  readonly little: boolean;
  /** Item and delimiter tags (FFFE,xxxx). */
  readonly item: boolean;
}

const LONG = new Set(["OB", "OD", "OF", "OL", "OV", "OW", "SQ", "UC", "UN", "UR", "UT", "SV", "UV"]);

/**
 * Element headers of a Part 10 file (meta, then the data set, into sequences), read leniently: the scan
 * stops where the structure stops making sense. Deflated data sets are scanned up to the file meta only.
 */
export function scanElements(d: Uint8Array): ElementSpot[] {
  const out: ElementSpot[] = [];
  if (d.length < 140 || d[128] !== 0x44 || d[131] !== 0x4d) return out;
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  let p = 132;
  let syntax = "";
  while (p + 8 <= d.length && v.getUint16(p, true) === 2) {
    const s = spot(d, v, p, true, true);
    if (!s) return out;
    out.push(s);
    if (v.getUint16(p + 2, true) === 0x10) {
      // A UID is at most 64 characters (a mutated length may claim megabytes: too many arguments to spread).
      const uid = d.subarray(s.lengthAt + s.lengthSize, Math.min(s.end, s.lengthAt + s.lengthSize + 64));
      syntax = String.fromCharCode(...uid).replace(/[\0 ]+$/, "");
    }
    p = s.end;
  }
  if (syntax === "1.2.840.10008.1.2.1.99") return out;
  const little = syntax !== "1.2.840.10008.1.2.2";
  const explicit = syntax !== "1.2.840.10008.1.2";
  let guard = 0;
  let fragments = false;
  while (p + 8 <= d.length && guard++ < 100_000) {
    const s = spot(d, v, p, little, explicit);
    if (!s) break;
    out.push(s);
    const length = s.lengthSize === 4 ? v.getUint32(s.lengthAt, little) : v.getUint16(s.lengthAt, little);
    if (v.getUint16(p, little) === 0x7fe0 && length === 0xffffffff) fragments = true;
    // Step into undefined lengths, sequences and their items (elements follow), over values otherwise
    // (encapsulated fragments included).
    const sq = s.vrAt >= 0 && d[s.vrAt] === 0x53 && d[s.vrAt + 1] === 0x51;
    const into = (s.item && !fragments) || length === 0xffffffff || sq;
    p = into ? s.lengthAt + s.lengthSize : s.end;
  }
  return out;
}

function spot(d: Uint8Array, v: DataView, p: number, little: boolean, explicit: boolean) {
  const group = v.getUint16(p, little);
  const item = group === 0xfffe;
  let lengthAt: number;
  let lengthSize: 2 | 4;
  let vrAt = -1;
  if (item || !explicit) {
    lengthAt = p + 4;
    lengthSize = 4;
  } else {
    vrAt = p + 4;
    const vr = String.fromCharCode(d[p + 4], d[p + 5]);
    if (!/^[A-Z]{2}$/.test(vr)) return undefined;
    lengthAt = LONG.has(vr) ? p + 8 : p + 6;
    lengthSize = LONG.has(vr) ? 4 : 2;
  }
  if (lengthAt + lengthSize > d.length) return undefined;
  const length = lengthSize === 4 ? v.getUint32(lengthAt, little) : v.getUint16(lengthAt, little);
  const valueAt = lengthAt + lengthSize;
  const end = length === 0xffffffff ? d.length : Math.min(d.length, valueAt + length);
  return { at: p, lengthAt, lengthSize, vrAt, end, little, item } satisfies ElementSpot;
}

/** A mutation: a new file from a base, its spots and the generator; a short label of what it did. */
type Mutator = (d: Uint8Array, spots: ReadonlyArray<ElementSpot>, r: () => number) => [Uint8Array, string];

const int = (r: () => number, n: number) => Math.floor(r() * n);
const pick = <T>(r: () => number, list: ReadonlyArray<T>): T => list[int(r, list.length)];
const splice = (d: Uint8Array, at: number, remove: number, insert: Uint8Array = new Uint8Array(0)) => {
  const out = new Uint8Array(d.length - remove + insert.length);
  out.set(d.subarray(0, at));
  out.set(insert, at);
  out.set(d.subarray(at + remove), at + insert.length);
  return out;
};
const setLength = (d: Uint8Array, s: ElementSpot, value: number) => {
  const out = d.slice();
  const v = new DataView(out.buffer);
  if (s.lengthSize === 4) v.setUint32(s.lengthAt, value >>> 0, s.little);
  else v.setUint16(s.lengthAt, value & 0xffff, s.little);
  return out;
};
const DELIMITERS = [
  [0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0],
  [0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0],
  [0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff],
  [0xfe, 0xff, 0x00, 0xe0, 0x10, 0, 0, 0],
];
const HUGE = [0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, 0x10000000, 0x00ffffff, 0xfff0];

const MUTATORS: Readonly<Record<string, Mutator>> = {
  flipBits: (d, _s, r) => {
    const out = d.slice();
    const n = 1 + int(r, 8);
    for (let i = 0; i < n; i++) out[int(r, out.length)] ^= 1 << int(r, 8);
    return [out, `flip ${n} bit(s)`];
  },
  randomBytes: (d, _s, r) => {
    const out = d.slice();
    const at = int(r, out.length);
    const n = 1 + int(r, 16);
    for (let i = 0; i < n && at + i < out.length; i++) out[at + i] = int(r, 256);
    return [out, `random bytes at ${at}`];
  },
  truncate: (d, _s, r) => {
    const at = int(r, d.length);
    return [d.subarray(0, at).slice(), `truncate at ${at}`];
  },
  insertBytes: (d, _s, r) => {
    const at = int(r, d.length);
    const bytes = Uint8Array.from({ length: 1 + int(r, 64) }, () => int(r, 256));
    return [splice(d, at, 0, bytes), `insert ${bytes.length} at ${at}`];
  },
  deleteRange: (d, _s, r) => {
    const at = int(r, d.length);
    const n = Math.min(d.length - at, 1 + int(r, 64));
    return [splice(d, at, n), `delete ${n} at ${at}`];
  },
  stripPreamble: (d) => [d.subarray(128).slice(), "strip preamble"],
  stripPreambleAndDicm: (d) => [d.subarray(132).slice(), "strip preamble and DICM"],
  hugeLength: (d, s, r) => {
    if (s.length === 0) return MUTATORS.flipBits(d, s, r);
    const e = pick(r, s);
    const value = pick(r, HUGE);
    return [setLength(d, e, value), `length ${value.toString(16)} at ${e.at}`];
  },
  nudgeLength: (d, s, r) => {
    if (s.length === 0) return MUTATORS.flipBits(d, s, r);
    const e = pick(r, s);
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const old = e.lengthSize === 4 ? v.getUint32(e.lengthAt, e.little) : v.getUint16(e.lengthAt, e.little);
    const delta = pick(r, [-8, -2, -1, 1, 2, 8, 100]);
    const value = pick(r, [old + delta, 0, 1, 3]);
    return [setLength(d, e, value), `length ${old} -> ${value} at ${e.at}`];
  },
  garbleVr: (d, s, r) => {
    const explicit = s.filter((e) => e.vrAt >= 0);
    if (explicit.length === 0) return MUTATORS.flipBits(d, s, r);
    const e = pick(r, explicit);
    const out = d.slice();
    const vr = pick(r, ["SQ", "UN", "OB", "US", "UL", "zz", "\0\0", "OW", "UT"]);
    out[e.vrAt] = vr.charCodeAt(0);
    out[e.vrAt + 1] = vr.charCodeAt(1);
    return [out, `VR ${JSON.stringify(vr)} at ${e.at}`];
  },
  duplicateElement: (d, s, r) => {
    const whole = s.filter((e) => !e.item && e.end > e.at && e.end - e.at < 4096);
    if (whole.length === 0) return MUTATORS.flipBits(d, s, r);
    const e = pick(r, whole);
    return [splice(d, e.end, 0, d.slice(e.at, e.end)), `duplicate element at ${e.at}`];
  },
  dropElement: (d, s, r) => {
    const whole = s.filter((e) => e.end > e.at);
    if (whole.length === 0) return MUTATORS.flipBits(d, s, r);
    const e = pick(r, whole);
    return [splice(d, e.at, e.end - e.at), `drop element at ${e.at}`];
  },
  swapElements: (d, s, r) => {
    const whole = s.filter((e) => !e.item && e.end > e.at && e.end - e.at < 4096);
    if (whole.length < 2) return MUTATORS.flipBits(d, s, r);
    const i = int(r, whole.length - 1);
    const [a, b] = [whole[i], whole[i + 1]];
    if (b.at !== a.end) return MUTATORS.flipBits(d, s, r);
    const swapped = new Uint8Array([...d.subarray(b.at, b.end), ...d.subarray(a.at, a.end)]);
    return [splice(d, a.at, b.end - a.at, swapped), `swap elements at ${a.at}`];
  },
  injectDelimiter: (d, s, r) => {
    const at = s.length > 0 && r() < 0.7 ? pick(r, s).at : int(r, d.length);
    const bytes = Uint8Array.from(pick(r, DELIMITERS));
    return r() < 0.5
      ? [splice(d, at, 0, bytes), `insert delimiter at ${at}`]
      : [splice(d, at, Math.min(8, d.length - at), bytes), `overwrite delimiter at ${at}`];
  },
  dropDelimiter: (d, s, r) => {
    const items = s.filter((e) => e.item);
    if (items.length === 0) return MUTATORS.injectDelimiter(d, s, r);
    const e = pick(r, items);
    return [splice(d, e.at, 8), `drop item header at ${e.at}`];
  },
};

/** The mutator names, for reports. */
export const MUTATOR_NAMES: ReadonlyArray<string> = Object.keys(MUTATORS);

/** One mutant of `base`: one mutator, sometimes two. */
export function mutate(
  base: Uint8Array,
  r: () => number,
): { readonly bytes: Uint8Array; readonly label: string } {
  let bytes = base;
  const labels: string[] = [];
  const rounds = r() < 0.2 ? 2 : 1;
  for (let k = 0; k < rounds; k++) {
    const name = pick(r, MUTATOR_NAMES);
    const [next, label] = MUTATORS[name](bytes, scanElements(bytes), r);
    bytes = next;
    labels.push(`${name}: ${label}`);
  }
  return { bytes, label: labels.join("; ") };
}
