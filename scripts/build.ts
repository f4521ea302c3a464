/**
 * `deno task build`: the JavaScript of the npm package, in `dist/` (run by `npm pack` through `prepack`).
 *
 * - One esbuild run bundles the entry points of {@link ENTRIES} as ES modules with code splitting: shared
 *   code lands once in `dist/chunk-*.js`, so the library, the plugin API and the CLI share one `StageError`
 *   class, one `Output` service tag, one registry of stages. npm packages stay external (regular
 *   dependencies, and `effect` - a peer dependency - must be the one instance plugins use too).
 * - A second run bundles the {@link STANDALONE} entries (the CLI and the worker threads for pipelines
 *   without plugins) with their own copy of every package but the native and WebAssembly ones
 *   ({@link ALWAYS_EXTERNAL}): one file instead of hundreds of package modules loads several times faster.
 *   They share code with each other (`dist/chunk-*.js` of their own), not with the library.
 * - `import.meta.url` keeps meaning "where this source file is": every use in a project module becomes the
 *   URL of the module's source path relative to the bundle (`dist/x.js` -> `../plugins/window/mod.ts`), so
 *   `wgslFile(import.meta.url, "../../shaders/window.wgsl")` finds `shaders/` shipped beside `dist/`.
 *   `new URL("./ENTRY.ts", import.meta.url)` naming one of the entry points becomes the URL of that entry's
 *   bundle (`./worker.js`): a Web Worker started from a bundle runs the worker's bundle.
 * - `tsc` writes the declarations (`dist/types/**.d.ts`) of the library, the plugin API and the DICOM reader.
 *
 * `deno run -A scripts/build.ts [--no-types] [--outdir DIR]`.
 *
 * @module
 */
import * as esbuild from "esbuild";
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { V8_FLAGS } from "../cli/v8_flags.ts";

/** The project root (this file is in `scripts/`). */
export const ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * The bundles: output name (`dist/NAME.js`) -> entry module, one line each. A module that starts another
 * entry writes `new URL("./worker.ts", import.meta.url)`; in the bundles that URL is `./worker.js`.
 */
export const ENTRIES: Readonly<Record<string, string>> = {
  mod: "mod.ts", // the library: "dcmflow"
  plugin: "plugin.ts", // the plugin API: "dcmflow/plugin"
  dicom: "dicom/mod.ts", // the DICOM reader: "dcmflow/dicom"
  cli: "cli.ts", // the command (package.json "bin"): a launcher of one of the two below
  cli_standalone: "cli/standalone.ts", // the command, self-contained (no plugins)
  worker: "worker.ts", // the worker threads' entry (mod.ts's WORKER_URL)
  worker_standalone: "worker_standalone.ts", // the same, self-contained (mod.ts's STANDALONE_WORKER_URL)
};

/** Entries bundled with their own copy of every package (the second esbuild run). */
export const STANDALONE: ReadonlySet<string> = new Set(["cli_standalone", "worker_standalone"]);

/** Packages left external even in the self-contained bundles: native or WebAssembly code, loaded lazily. */
const ALWAYS_EXTERNAL = [
  "@cornerstonejs/*",
  "onnxruntime-node",
  "onnxruntime-web",
];

/** The modules whose declarations are published (package.json `exports` -> `types`). */
const TYPED_ENTRIES = ["mod.ts", "plugin.ts", "dicom/mod.ts"];

/** The bundle that is the package's `bin`: it gets a `#!/usr/bin/env -S node ...` line and the executable bit. */
const BIN = "cli";

const toPosix = (p: string) => p.replace(/\\/g, "/");
const relativeUrl = (from: string, to: string) => {
  const rel = toPosix(relative(from, to));
  return rel.startsWith(".") ? rel : `./${rel}`;
};

/** `new URL("./x.ts", import.meta.url)`: a module URL written in a source file. */
const MODULE_URL = /new URL\(\s*(["'])([^"']+\.ts)\1\s*,\s*import\.meta\.url\s*\)/g;

/**
 * Rewrites `import.meta.url` in one project module for a bundle in `outdir`: module URLs of entry points
 * become their bundles' URLs; every other use becomes the source file's own URL, found from the bundle's.
 */
export const rewriteModuleUrls = (
  source: string,
  file: string,
  outdir: string,
  entries: Readonly<Record<string, string>>,
  root: string = ROOT,
): string => {
  const bundleOf = new Map(Object.entries(entries).map(([name, entry]) => [resolve(root, entry), name]));
  const HERE = "\u0000BUNDLE_URL\u0000"; // the bundle's own import.meta.url, kept through the second pass
  const entryUrls = source.replace(MODULE_URL, (whole, _q, path: string) => {
    const name = bundleOf.get(resolve(dirname(file), path));
    return name === undefined ? whole : `new URL(${JSON.stringify(`./${name}.js`)}, ${HERE})`;
  });
  const self = `new URL(${JSON.stringify(relativeUrl(outdir, file))}, import.meta.url).href`;
  return entryUrls.replace(/\bimport\.meta\.url\b/g, self).replaceAll(HERE, "import.meta.url");
};

/** The esbuild plugin applying {@link rewriteModuleUrls} to the project's own TypeScript modules. */
const moduleUrls = (
  outdir: string,
  entries: Readonly<Record<string, string>>,
  root: string,
): esbuild.Plugin => ({
  name: "dcmflow-module-urls",
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, (args) => {
      if (/[\\/]node_modules[\\/]/.test(args.path)) return undefined;
      const text = readFileSync(args.path, "utf8");
      if (!text.includes("import.meta.url")) return undefined;
      return { contents: rewriteModuleUrls(text, args.path, outdir, entries, root), loader: "ts" };
    });
  },
});

/** `effect/cli`'s text-width helper builds an `Intl.Segmenter` when its module loads. */
const EAGER_SEGMENTER =
  /const graphemeSegmenter = (?:\/\*#__PURE__\*\/)?new Intl\.Segmenter\(undefined, \{\s*granularity: "grapheme"\s*\}\);/;

/**
 * Makes that segmenter lazy in the self-contained bundles: constructing it loads ICU's break-iterator data,
 * 11-15 ms of every start (`deno eval` alone), for text widths only help and prompts measure. Fails the build
 * if the line is not found, so an `effect` upgrade cannot silently bring the cost back.
 */
export const deferSegmenter = (source: string): string => {
  if (!EAGER_SEGMENTER.test(source)) {
    throw new Error(
      "effect/cli's CliOutput no longer builds its Intl.Segmenter as expected: update scripts/build.ts",
    );
  }
  return source.replace(
    EAGER_SEGMENTER,
    "let graphemeSegmenterMade; const graphemeSegmenter = { segment: (text) => (graphemeSegmenterMade ??= " +
      'new Intl.Segmenter(undefined, { granularity: "grapheme" })).segment(text) };',
  );
};

const lazySegmenter: esbuild.Plugin = {
  name: "dcmflow-lazy-segmenter",
  setup(build) {
    build.onLoad({ filter: /[\\/]effect[\\/]dist[\\/]cli[\\/]CliOutput\.js$/ }, (args) => ({
      contents: deferSegmenter(readFileSync(args.path, "utf8")),
      loader: "js",
    }));
  },
};

/** Options of {@link build}. */
export interface BuildOptions {
  /** Output folder (default `dist/`); emptied first. */
  readonly outdir?: string;
  /** Entry points (default {@link ENTRIES}). */
  readonly entries?: Readonly<Record<string, string>>;
  /** Write declarations with tsc (default true; the slowest part). */
  readonly types?: boolean;
  /** Project root the entries are relative to (default {@link ROOT}). */
  readonly root?: string;
}

/** Bundles the entry points (and writes the declarations); returns the files written, relative to outdir. */
export const build = async (options: BuildOptions = {}): Promise<string[]> => {
  const root = options.root ?? ROOT;
  const outdir = resolve(root, options.outdir ?? "dist");
  const entries = options.entries ?? ENTRIES;
  rmSync(outdir, { recursive: true, force: true });
  const entryPoints = (standalone: boolean) =>
    Object.fromEntries(
      Object.entries(entries)
        .filter(([name]) => STANDALONE.has(name) === standalone)
        .map(([name, file]) => [name, join(root, file)]),
    );
  const common: esbuild.BuildOptions = {
    absWorkingDir: root,
    outdir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    plugins: [moduleUrls(outdir, entries, root)],
    logLevel: "warning",
  };
  await esbuild.build({ ...common, entryPoints: entryPoints(false), packages: "external" });
  const standalone = entryPoints(true);
  if (Object.keys(standalone).length > 0) {
    await esbuild.build({
      ...common,
      entryPoints: standalone,
      external: ALWAYS_EXTERNAL,
      plugins: [moduleUrls(outdir, entries, root), lazySegmenter],
      // Whitespace and syntax only (names stay): ~30 % fewer bytes for V8 to read and the code cache to key,
      // 0.02-0.05 s less CPU per start in A/B runs. The library bundles above stay readable.
      minifyWhitespace: true,
      minifySyntax: true,
      // yaml's Node build is CommonJS requiring Node built-ins, which an ES module bundle cannot do: its ESM
      // build (the same code) instead
      alias: { yaml: "./node_modules/yaml/browser/index.js" },
    });
  }
  const bin = join(outdir, `${BIN}.js`);
  if (existsSync(bin)) {
    // The CLI's V8 flags (cli/v8_flags.ts: why each), as node takes them.
    writeFileSync(bin, `#!/usr/bin/env -S node ${V8_FLAGS.join(" ")}\n${readFileSync(bin, "utf8")}`);
    chmodSync(bin, 0o755);
  }
  if (options.types ?? true) await declarations(root, join(outdir, "types"));
  return listFiles(outdir).map((f) => toPosix(relative(outdir, f)));
};

const listFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listFiles(join(dir, d.name)) : [join(dir, d.name)]
  );

/** Writes `.d.ts` files of {@link TYPED_ENTRIES} and what they import, with `.js` import specifiers. */
const declarations = async (root: string, outDir: string): Promise<void> => {
  const { default: ts } = await import("typescript");
  const program = ts.createProgram(TYPED_ENTRIES.map((f) => join(root, f)), {
    declaration: true,
    emitDeclarationOnly: true,
    outDir,
    rootDir: root,
    allowImportingTsExtensions: true,
    rewriteRelativeImportExtensions: true,
    resolveJsonModule: true,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    target: ts.ScriptTarget.ES2022,
    lib: ["lib.es2023.d.ts", "lib.dom.d.ts", "lib.dom.iterable.d.ts"],
    types: ["node", "@webgpu/types"],
    strict: true,
    skipLibCheck: true,
    stripInternal: true,
  });
  const result = program.emit();
  const problems = ts.getPreEmitDiagnostics(program).concat(result.diagnostics)
    // 7016: an npm package without types (dcmjs, the codecs) is `any`, as under Deno
    .filter((d) => d.category === ts.DiagnosticCategory.Error && d.code !== 7016);
  if (problems.length > 0) {
    const host = {
      getCanonicalFileName: (f: string) => f,
      getCurrentDirectory: () => root,
      getNewLine: () => "\n",
    };
    throw new Error(`declarations failed:\n${ts.formatDiagnostics(problems, host)}`);
  }
  for (const file of listFiles(outDir)) {
    // tsc keeps ".ts" in specifiers of declaration files; consumers resolve ".js" to the ".d.ts" beside it
    const text = readFileSync(file, "utf8");
    const fixed = text.replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']+)\.ts\2/g, "$1$2$3.js$2");
    if (fixed !== text) writeFileSync(file, fixed);
  }
};

if (import.meta.main) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--outdir");
  const outdir = at >= 0 ? args[at + 1] : "dist";
  const started = performance.now();
  const files = await build({ types: !args.includes("--no-types"), outdir });
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.error(`dcmflow build: ${files.length} files in ${outdir}/ (${seconds} s)`);
}
