/**
 * Readers for naturalized dcmjs values: dcmjs gives numbers for DS/IS/US, strings for text, arrays when an
 * attribute is multi-valued, and objects (or arrays of them) for sequence items.
 *
 * @module
 */

/** Sequence items of a value (an item or a list of items); [] otherwise. */
export function items(v: unknown): Record<string, unknown>[] {
  if (Array.isArray(v)) {
    return v.filter((x) => typeof x === "object" && x !== null) as Record<string, unknown>[];
  }
  if (typeof v === "object" && v !== null && !(v instanceof ArrayBuffer) && !ArrayBuffer.isView(v)) {
    return [v as Record<string, unknown>];
  }
  return [];
}

function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v === "string" && v.trim() !== "") {
    const n = Number(v.trim());
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

/** Every value as a number (decimal strings included); undefined if absent or any value is not a number. */
export function nums(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : typeof v === "string" ? v.split("\\") : [v];
  const out: number[] = [];
  for (const x of list) {
    const n = toNumber(x);
    if (n === undefined) return undefined;
    out.push(n);
  }
  return out;
}

/** The first value as a number. */
export function num(v: unknown): number | undefined {
  const list = nums(v);
  return list && list.length > 0 ? list[0] : undefined;
}

/** The first value as an integer; undefined when it is not one. */
export function int(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && Number.isInteger(n) ? n : undefined;
}

/** The first value as a trimmed, non-empty string. */
export function str(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  if (typeof x === "string") {
    const s = x.trim();
    return s === "" ? undefined : s;
  }
  if (typeof x === "number") return String(x);
  return undefined;
}

/** Every value as a trimmed string, undefined for empty ones. */
export function strs(v: unknown): (string | undefined)[] {
  const list = Array.isArray(v) ? v : v === undefined || v === null ? [] : [v];
  return list.map((x) => (typeof x === "string" && x.trim() !== "" ? x.trim() : undefined));
}
