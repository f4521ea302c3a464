/**
 * Finds npm packages the way Node, Deno (with a `node_modules` folder) and Bun do, but from a folder of the
 * caller's choosing: a pipeline's `plugins: [dcmflow-plugin-clip]` resolves from the pipeline file's folder,
 * not from wherever dcmflow itself is installed.
 *
 * Walks up from the folder to the first `node_modules/NAME/package.json`, then reads the package's
 * `exports` (conditions `deno`/`bun`, `import`, `module`, `node`, `default`; `*` patterns) or its
 * `module`/`main` field.
 *
 * @module
 */
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { runtimeName } from "./platform.ts";

/** A package found in a `node_modules` folder. */
export interface FoundPackage {
  /** The package's folder (symbolic links resolved). */
  readonly dir: string;
  /** Its package.json. */
  readonly manifest: Readonly<Record<string, unknown>>;
}

/** `@scope/name/sub/path` -> [`@scope/name`, `./sub/path`]; `name` -> [`name`, `.`]. */
export const splitSpecifier = (spec: string): [string, string] => {
  const parts = spec.split("/");
  const n = spec.startsWith("@") ? 2 : 1;
  const rest = parts.slice(n).join("/");
  return [parts.slice(0, n).join("/"), rest ? `./${rest}` : "."];
};

/** The first `node_modules/NAME` at or above `from` that holds a package.json. */
export const findPackage = (name: string, from: string): FoundPackage | undefined => {
  for (let dir = resolve(from);; dir = dirname(dir)) {
    const manifest = join(dir, "node_modules", name, "package.json");
    if (existsSync(manifest)) {
      return {
        dir: realpathSync(dirname(manifest)),
        manifest: JSON.parse(readFileSync(manifest, "utf8")),
      };
    }
    if (dirname(dir) === dir) return undefined;
  }
};

const conditions = (): ReadonlySet<string> =>
  new Set([runtimeName().split(" ")[0], "import", "module", "node", "default"]);

/** Picks the target of one `exports` value (a string, an array of fallbacks or a conditions object). */
const target = (value: unknown, wanted: ReadonlySet<string>): string | undefined => {
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = target(v, wanted);
      if (t !== undefined) return t;
    }
    return undefined;
  }
  if (value === null || typeof value !== "object") return undefined;
  for (const [key, v] of Object.entries(value)) {
    if (wanted.has(key)) {
      const t = target(v, wanted);
      if (t !== undefined) return t;
    }
  }
  return undefined;
};

/** Resolves `subpath` (`.` or `./x`) through a package's `exports` field. */
export const resolveExports = (exports: unknown, subpath: string): string | undefined => {
  const wanted = conditions();
  const isSubpathMap = exports !== null && typeof exports === "object" && !Array.isArray(exports) &&
    Object.keys(exports).some((k) => k.startsWith("."));
  if (!isSubpathMap) return subpath === "." ? target(exports, wanted) : undefined;
  const map = exports as Record<string, unknown>;
  if (subpath in map) return target(map[subpath], wanted);
  for (const [key, value] of Object.entries(map)) {
    const star = key.indexOf("*");
    if (star < 0) continue;
    const [prefix, suffix] = [key.slice(0, star), key.slice(star + 1)];
    if (subpath.startsWith(prefix) && subpath.endsWith(suffix) && subpath.length >= key.length - 1) {
      const matched = subpath.slice(prefix.length, subpath.length - suffix.length);
      return target(value, wanted)?.replaceAll("*", matched);
    }
  }
  return undefined;
};

/** The entry file of `spec` (a package name, maybe with a subpath) seen from folder `from`, or a reason. */
export const resolvePackage = (spec: string, from: string): { path: string } | { problem: string } => {
  const [name, subpath] = splitSpecifier(spec);
  const found = findPackage(name, from);
  if (!found) return { problem: `no package "${name}" in a node_modules folder at or above ${from}` };
  const { exports, module, main } = found.manifest;
  const entry = exports !== undefined
    ? resolveExports(exports, subpath)
    : subpath === "."
    ? (typeof module === "string" ? module : typeof main === "string" ? main : "index.js")
    : subpath;
  if (entry === undefined) {
    return { problem: `package "${name}" (${found.dir}) exports no "${subpath}" for import` };
  }
  const path = join(found.dir, entry);
  return existsSync(path)
    ? { path }
    : { problem: `package "${name}" points at ${path}, which does not exist` };
};
