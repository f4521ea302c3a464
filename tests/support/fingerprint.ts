/**
 * Values as text for tests that compare two ways of reading the same thing: two values give the same text
 * only when they are the same in every way code can tell.
 *
 * @module
 */
import { types } from "node:util";

/**
 * A value as text that two values share only when they are the same in every way the code can tell: types
 * (number, -0, bigint, string, null, undefined), own properties in order (hidden ones marked), prototypes,
 * proxies, and the bytes of binary values.
 */
export function fingerprint(v: unknown): string {
  if (v === null) return "null";
  switch (typeof v) {
    case "undefined":
      return "undefined";
    case "number":
      return Object.is(v, -0) ? "-0" : `n${v}`;
    case "bigint":
      return `${v}n`;
    case "string":
      return JSON.stringify(v);
    case "boolean":
      return String(v);
    case "function":
      return `fn ${v.name}`;
    case "symbol":
      return String(v);
  }
  if (v instanceof ArrayBuffer) return `ArrayBuffer<${hex(new Uint8Array(v))}>`;
  if (ArrayBuffer.isView(v)) {
    return `${v.constructor.name}<${hex(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))}>`;
  }
  const o = v as Record<PropertyKey, unknown>;
  const kind = `${types.isProxy(v) ? "Proxy " : ""}${Array.isArray(v) ? "array " : ""}${
    Object.getPrototypeOf(v)?.constructor?.name ?? "null"
  }`;
  const props = Reflect.ownKeys(o).map((k) => {
    const d = Object.getOwnPropertyDescriptor(o, k)!;
    const hidden = d.enumerable ? "" : "(hidden)";
    const flags = `${d.writable ? "w" : ""}${d.configurable ? "c" : ""}${d.get || d.set ? "accessor" : ""}`;
    return `${String(k)}${hidden}[${flags}]: ${fingerprint(o[k])}`;
  });
  return `${kind} {${props.join(", ")}}`;
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** What a call gave: its result's fingerprint, or its error. */
export function outcome(fn: () => unknown): string {
  try {
    return fingerprint(fn());
  } catch (e) {
    const err = e as { name?: string; code?: string; message?: string };
    return `throws ${err.name} ${err.code ?? ""} ${err.message}`;
  }
}
