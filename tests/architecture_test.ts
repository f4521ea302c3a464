/**
 * The layers hold: arrows go one way, face -> plugins -> plugin API <- core internals -> DICOM reader.
 *
 * - `dicom/` (the DICOM reader) imports nothing of the project and no Effect: it is usable alone.
 * - `core/` imports only `core/` and `dicom/`: it knows no stage, no plugin and no face.
 * - `plugin.ts` (the public plugin API) is made of `core/` and `dicom/`.
 * - A built-in plugin (`plugins/NAME/`) imports only the public plugin API (`plugin.ts`), the public DICOM
 *   reader (`dicom/mod.ts`) and its own folder - exactly what a third-party plugin has.
 * - The face (`mod.ts`, `cli.ts`, `cli/`) may import anything; nothing imports the face but tests, benches
 *   and examples.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), "..");

/** Every .ts file under `dir` (relative to the project). */
const tsFiles = (dir: string): string[] => {
  const abs = join(ROOT, dir);
  if (statSync(abs).isFile()) return [dir];
  return readdirSync(abs).sort().flatMap((name) => {
    const rel = join(dir, name);
    return statSync(join(ROOT, rel)).isDirectory() ? tsFiles(rel) : rel.endsWith(".ts") ? [rel] : [];
  });
};

/** The module specifiers a file imports (static imports, re-exports, dynamic imports of literals). */
export const importsOf = (source: string): string[] => {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^'"]*?\bfrom\s*["']([^"']+)["']/gms,
    /^\s*import\s*["']([^"']+)["']/gm,
    /\bimport\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) found.push(m[1]);
  return found;
};

/** The layer of a project file. */
const layerOf = (file: string): string => {
  if (file.startsWith("dicom/")) return "dicom";
  if (file.startsWith("core/")) return "core";
  if (file === "plugin.ts") return "plugin-api";
  if (file.startsWith("plugins/")) return "plugins";
  if (file === "mod.ts" || file === "cli.ts" || file.startsWith("cli/")) return "face";
  return "other";
};

/** A module specifier that names a package (bare, `npm:`, `node:`), not a file of the project. */
const isPackage = (spec: string) => !spec.startsWith(".") && !spec.startsWith("/");

/** Why `file` may not import `target` (a project-relative path, or a package name), or undefined. */
const violation = (file: string, target: { readonly path: string } | { readonly pkg: string }) => {
  const from = layerOf(file);
  if ("pkg" in target) {
    // A package: the DICOM reader stays free of Effect (plain TypeScript, usable alone).
    return from === "dicom" && /^(npm:)?(effect(\/|@|$)|@effect\/)/.test(target.pkg)
      ? "the DICOM reader uses no Effect"
      : undefined;
  }
  if (!target.path.endsWith(".ts")) return undefined; // data (package.json for the version)
  const to = layerOf(target.path);
  switch (from) {
    case "dicom":
      return to === "dicom" ? undefined : "the DICOM reader imports nothing of the rest of dcmflow";
    case "core":
      return to === "core" || to === "dicom" ? undefined : `core imports only core/ and dicom/, not ${to}`;
    case "plugin-api":
      return to === "core" || to === "dicom" ? undefined : `the plugin API is made of core/ and dicom/`;
    case "plugins": {
      if (target.path === "plugin.ts" || target.path === "dicom/mod.ts") return undefined;
      const folder = (p: string) => p.split("/").slice(0, 2).join("/");
      const own = folder(target.path) === folder(file) || file === "plugins/mod.ts";
      if (to === "plugins" && own) return undefined;
      return "a plugin imports only the public plugin API (plugin.ts), dicom/mod.ts and its own folder";
    }
    case "face":
      return undefined;
    default:
      return undefined;
  }
};

const LAYERED = ["dicom", "core", "plugin.ts", "plugins", "cli", "mod.ts", "cli.ts"];

/** Every import against the rules, as `file -> target: why`. */
const violations = (): string[] =>
  LAYERED.flatMap(tsFiles).flatMap((file) =>
    importsOf(readFileSync(join(ROOT, file), "utf8")).flatMap((spec) => {
      const target = isPackage(spec)
        ? { pkg: spec }
        : { path: relative(ROOT, resolve(ROOT, dirname(file), spec)) };
      const why = violation(file, target);
      return why ? [`${file} -> ${spec}: ${why}`] : [];
    })
  );

Deno.test("imports go one way: face -> plugins -> plugin API <- core -> dicom", () => {
  assert.deepEqual(violations(), []);
});

Deno.test("nothing in the layers imports the face", () => {
  const faces = ["mod.ts", "cli.ts"];
  const offenders = ["dicom", "core", "plugin.ts", "plugins"].flatMap(tsFiles).flatMap((file) =>
    importsOf(readFileSync(join(ROOT, file), "utf8"))
      .filter((s) => !isPackage(s))
      .map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)))
      .filter((t) => faces.includes(t) || t.startsWith("cli/"))
      .map((t) => `${file} -> ${t}`)
  );
  assert.deepEqual(offenders, []);
});

Deno.test("the import reader sees every form of import, so the rule cannot pass by not looking", () => {
  const src = [
    'import { a } from "../core/x.ts";',
    'import type {\n  B,\n  C,\n} from "./y.ts";',
    'export { d } from "../../plugin.ts";',
    'export * from "./z.ts";',
    'import "./side.ts";',
    'const m = await import("../plugins/mod.ts");',
  ].join("\n");
  assert.deepEqual(importsOf(src).sort(), [
    "../../plugin.ts",
    "../core/x.ts",
    "../plugins/mod.ts",
    "./side.ts",
    "./y.ts",
    "./z.ts",
  ]);
  const path = (p: string) => ({ path: p });
  assert.equal(
    violation("core/a.ts", path("plugins/mod.ts")),
    "core imports only core/ and dicom/, not plugins",
  );
  assert.ok(violation("core/a.ts", path("mod.ts")));
  assert.ok(violation("plugins/window/mod.ts", path("core/stage.ts")));
  assert.ok(violation("plugins/window/mod.ts", path("plugins/resize/cpu.ts")));
  assert.equal(violation("plugins/window/mod.ts", path("plugins/window/voi.ts")), undefined);
  assert.equal(violation("plugins/window/mod.ts", path("plugin.ts")), undefined);
  assert.ok(violation("dicom/decode.ts", { pkg: "effect" }));
  assert.ok(violation("dicom/decode.ts", { pkg: "npm:effect@4.1.0" }));
  assert.equal(violation("dicom/decode.ts", { pkg: "dcmjs" }), undefined);
  assert.ok(violation("dicom/decode.ts", path("core/tensor.ts")));
});

/**
 * Code that runs per input or per batch (the run loop, the CPU and GPU paths, every plugin) makes no generator
 * function per call: `Effect.gen(function* () { … })` inside a function does, and V8 keeps each generator
 * function's map - and through it the function and all it closes over - until the next full collection,
 * promoting every input's objects (README, "Writing a plugin"). Bodies are made once (`Effect.fnUntraced`,
 * module level or a static field); `Effect.gen` stays for code that runs once per run: a plugin's `setup`, or
 * a line marked `// once per run`.
 */
const PER_CALL_GENERATOR = /\bEffect\s*\.gen\s*\(/g;
const HOT_PATHS = ["core/run", "core/cpu", "core/gpu", "core/cpu-stage.ts", "core/session.ts", "plugins"];

export const perCallGenerators = (file: string, source: string): string[] => {
  const lines = source.split("\n");
  return [...source.matchAll(PER_CALL_GENERATOR)].flatMap((m) => {
    const line = source.slice(0, m.index).split("\n").length - 1;
    const context = lines.slice(Math.max(0, line - 2), line + 1).join("\n");
    return /\bsetup\s*:|\/\/ once per run/.test(context)
      ? []
      : [`${file}:${line + 1}: ${lines[line].trim()}`];
  });
};

Deno.test("per-input code makes its Effect bodies once: no Effect.gen per call on the hot paths", () => {
  const found = HOT_PATHS.flatMap(tsFiles).flatMap((f) =>
    perCallGenerators(f, readFileSync(join(ROOT, f), "utf8"))
  );
  assert.deepEqual(found, []);
});

Deno.test("the generator rule sees Effect.gen per call and lets setup and marked lines be", () => {
  const src = [
    "run: (image, p) =>",
    "  Effect.gen(function* () {",
    "setup: (p) =>",
    "  Effect.gen(function* () {",
    "// once per run",
    "const all = Effect.gen(function* () {",
    "const body = Effect.fnUntraced(function* (image) {",
  ].join("\n");
  assert.deepEqual(perCallGenerators("x.ts", src), ["x.ts:2: Effect.gen(function* () {"]);
});
