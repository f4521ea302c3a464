/**
 * dcmflow as users meet it: the npm package, its bundles, plugins found by package name, the Promise API.
 *
 * - Always (fast): package.json and deno.json agree; the build's bundles run under Deno and Bun (module URLs
 *   of entry points become bundle URLs, files beside modules are still found, the bundled CLI equals the
 *   source CLI byte for byte, and reads its WGSL on the GPU); `plugins:` package names resolve from the
 *   pipeline's folder; a plugin made with another copy of `effect` is refused naming both; the Promise API.
 * - `deno task test:package` (DCMFLOW_PACKAGE_TEST=1; CI runs it): `npm pack`, install the tarball into a
 *   fresh project outside the checkout together with a plugin package and a plugin with a second `effect`,
 *   then run README.md's examples exactly as printed under Deno and Bun, and the installed command.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { decodeNpy } from "../core/npy.ts";
import { build, deferSegmenter, ENTRIES, rewriteModuleUrls, ROOT } from "../scripts/build.ts";
import { loadPipelinePromise, PipelineError, processBytesPromise, VERSION } from "../mod.ts";
import { locatePlugin } from "../core/registry.ts";
import { resolveExports } from "../core/resolve.ts";
import { findBun, gpuTest, maxAbsDiff, readJson, readNpy, tempDir } from "./helpers.ts";

const PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const DENO_JSON = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8"));

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to its end (a PATH with Deno's and Bun's folders first). */
const run = (cmd: string, args: ReadonlyArray<string>, cwd = ROOT, env: Record<string, string> = {}): Ran => {
  const bun = findBun();
  const path = [
    dirname(Deno.execPath()),
    ...(bun ? [dirname(resolve(ROOT, bun))] : []),
    Deno.env.get("PATH"),
  ];
  const r = spawnSync(cmd, args, {
    cwd,
    encoding: "utf8",
    env: { ...Deno.env.toObject(), PATH: path.join(":"), ...env },
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
};

const ok = (r: Ran, what: string): string => {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
};

const bunPath = (): string => {
  const bun = findBun();
  assert.ok(bun, "no Bun binary: run `deno install` (bun is a devDependency) or set BUN_BINARY");
  return resolve(ROOT, bun);
};

Deno.test("package: package.json and deno.json describe one package (name, version, exports)", () => {
  assert.equal(PKG.name, "dcmflow");
  assert.equal(PKG.private, undefined, "an installable package is not private");
  assert.equal(DENO_JSON.version, PKG.version, "deno.json (JSR) and package.json (npm) versions differ");
  assert.equal(VERSION, PKG.version);
  assert.deepEqual(Object.keys(DENO_JSON.exports), [".", "./plugin", "./dicom"]);
  for (const [key, source] of Object.entries(DENO_JSON.exports as Record<string, string>)) {
    const entry = PKG.exports[key];
    const name = Object.entries(ENTRIES).find(([, file]) => `./${file}` === source)?.[0];
    assert.ok(name, `${source} is not a build entry`);
    assert.equal(entry.default, `./dist/${name}.js`);
    assert.equal(entry.types, `./dist/types/${source.slice(2).replace(/\.ts$/, ".d.ts")}`);
  }
  assert.equal(PKG.bin.dcmflow, "dist/cli.js");
  assert.ok(PKG.peerDependencies.effect, "effect must be a peer dependency (one copy shared with plugins)");
  assert.equal(PKG.dependencies.effect, undefined);
  assert.ok(PKG.scripts.prepack.includes("deno task build"));
});

Deno.test("build: import.meta.url of a bundled module is its source file's; entry URLs become bundle URLs", () => {
  const source = [
    `const w = new Worker(new URL("./worker.ts", import.meta.url));`,
    `const other = new URL("./other.ts", import.meta.url);`,
    `const s = wgslFile(import.meta.url, "../../shaders/x.wgsl");`,
  ].join("\n");
  const out = rewriteModuleUrls(
    source,
    "/p/plugins/a/mod.ts",
    "/p/dist",
    { worker: "plugins/a/worker.ts" },
    "/p",
  );
  assert.equal(
    out,
    [
      `const w = new Worker(new URL("./worker.js", import.meta.url));`,
      `const other = new URL("./other.ts", new URL("../plugins/a/mod.ts", import.meta.url).href);`,
      `const s = wgslFile(new URL("../plugins/a/mod.ts", import.meta.url).href, "../../shaders/x.wgsl");`,
    ].join("\n"),
  );
});

Deno.test("build: effect/cli's Intl.Segmenter is made on first use, not at start-up; an unexpected text fails", () => {
  const cliOutput = readFileSync(
    new URL(import.meta.resolve("effect/cli")).pathname.replace(/index\.js$/, "CliOutput.js"),
    "utf8",
  );
  const lazy = deferSegmenter(cliOutput);
  assert.doesNotMatch(lazy, /const graphemeSegmenter = (?:\/\*#__PURE__\*\/)?new Intl\.Segmenter/);
  // The deferred object segments as the real one does, made on its first call.
  const made = new Function(
    `${lazy.match(/let graphemeSegmenterMade;[^\n]*/)![0]}; return graphemeSegmenter;`,
  )();
  assert.deepEqual([...made.segment("ae\u0301")].map((s: Intl.SegmentData) => s.segment), ["a", "e\u0301"]);
  assert.throws(() => deferSegmenter("const x = 1;"), /no longer builds its Intl\.Segmenter/);
});

/** The bundles of a build into a scratch folder of the checkout (bare imports resolve from node_modules). */
const scratchBuild = async (): Promise<string> => {
  const outdir = join(ROOT, `.scratch-build-${Deno.pid}`);
  await build({
    outdir,
    types: false,
    entries: {
      ...ENTRIES,
      url_entry: "tests/fixtures/package/url_entry.ts",
      url_worker: "tests/fixtures/package/url_worker.ts",
    },
  });
  return outdir;
};

Deno.test({
  name: "build: the bundles run under Deno and Bun (worker entry, files beside modules, CLI = source CLI)",
  sanitizeResources: false,
  fn: async () => {
    const outdir = await scratchBuild();
    try {
      const bun = bunPath();
      const wgsl = readFileSync(join(ROOT, "tests/fixtures/package/beside.wgsl"), "utf8");
      for (const [name, cmd, pre] of [["deno", Deno.execPath(), ["run", "-A"]], ["bun", bun, []]] as const) {
        const entry = JSON.parse(
          ok(run(cmd, [...pre, join(outdir, "url_entry.js")]), `${name} url_entry.js`),
        );
        assert.match(
          entry.workerUrl,
          /\/\.scratch-build-\d+\/url_worker\.js$/,
          `${name}: ${entry.workerUrl}`,
        );
        assert.equal(entry.reply, "worker started");
        assert.equal(entry.wgsl, wgsl, `${name}: the file beside the module, read from the bundle`);
        assert.equal(entry.source, "beside.wgsl");
        const validate = ok(
          run(cmd, [...pre, join(outdir, "cli.js"), "validate", "pipelines/seed-recipe.yaml"]),
          name,
        );
        assert.match(validate, /seed-recipe\.yaml: ok/);
      }
      // the bundled CLI (its worker threads from dist/worker.js) writes what the source CLI writes
      const outs = [tempDir(), tempDir()];
      for (const [i, entry] of [join(ROOT, "cli.ts"), join(outdir, "cli.js")].entries()) {
        const args = [
          "run",
          "-A",
          entry,
          "run",
          "pipelines/seed-recipe.yaml",
          "--device",
          "cpu",
          "--workers",
          "2",
        ];
        ok(run(Deno.execPath(), [...args, "-q", "-i", "samples/ct-study", "-o", outs[i]]), entry);
      }
      assert.equal(
        readJson(join(outs[1], "dcmflow-run.json")).workers,
        2,
        "worker threads from dist/worker.js",
      );
      const written = readdirSync(outs[0]).filter((f) => /\.(npy|png)$/.test(f));
      assert.equal(written.length, 12);
      for (const file of written) {
        assert.deepEqual(readFileSync(join(outs[1], file)), readFileSync(join(outs[0], file)), file);
      }
      // a pipeline with plugins runs from the bundle sharing node_modules' effect with the plugin (the
      // self-contained bundle, with its own copy, would refuse the plugin's stages)
      const withPlugin = tempDir();
      ok(
        run(Deno.execPath(), [
          "run",
          "-A",
          join(outdir, "cli.js"),
          "run",
          "tests/fixtures/plugins/gamma.yaml",
          "--device",
          "cpu",
          "-q",
          "-i",
          "samples/ct-study",
          "-o",
          withPlugin,
        ]),
        "plugin pipeline from the bundle",
      );
      assert.equal(readJson(join(withPlugin, "dcmflow-run.json")).summary.error, 0);
      const bin = readFileSync(join(outdir, "cli.js"), "utf8");
      assert.ok(bin.startsWith("#!/usr/bin/env -S node "), "the bin starts with a node shebang");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  },
});

gpuTest("build: the bundled CLI reads shaders/ through import.meta.url (GPU run = CPU run)", async () => {
  const outdir = await scratchBuild();
  try {
    const [cpu, gpu] = [tempDir(), tempDir()];
    for (const [device, out] of [["cpu", cpu], ["gpu", gpu]]) {
      const args = [join(outdir, "cli.js"), "run", "pipelines/seed-recipe.yaml", "--device", device, "-q"];
      ok(
        run(Deno.execPath(), ["run", "-A", ...args, "-i", "tests/fixtures/e2e/ct-signed16.dcm", "-o", out]),
        device,
      );
    }
    assert.equal(readJson(join(gpu, "dcmflow-run.json")).device.kind, "gpu");
    const diff = maxAbsDiff(
      readNpy(join(gpu, "ct-signed16.npy")).data,
      readNpy(join(cpu, "ct-signed16.npy")).data,
    );
    assert.ok(diff <= 1e-5, `GPU vs CPU through the bundle: ${diff}`);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
});

Deno.test("plugins: package names resolve from the pipeline's folder through node_modules and exports", () => {
  const dir = tempDir();
  const pkg = join(dir, "node_modules", "@lab", "stages");
  mkdirSync(join(pkg, "esm"), { recursive: true });
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({
      name: "@lab/stages",
      exports: {
        ".": { types: "./index.d.ts", require: "./index.cjs", import: "./esm/index.js" },
        "./ct/*": { import: "./esm/ct/*.js" },
      },
    }),
  );
  writeFileSync(join(pkg, "esm", "index.js"), "export default {};\n");
  mkdirSync(join(pkg, "esm", "ct"));
  writeFileSync(join(pkg, "esm", "ct", "clip.js"), "export default {};\n");
  const project = join(dir, "pipelines", "deep");
  mkdirSync(project, { recursive: true });
  writeFileSync(join(project, "local.ts"), "export default {};\n");

  const at = (spec: string) => locatePlugin(spec, project);
  assert.deepEqual(at("@lab/stages"), {
    url: `file://${join(pkg, "esm", "index.js")}`,
    path: join(pkg, "esm/index.js"),
  });
  assert.equal((at("@lab/stages/ct/clip") as { path: string }).path, join(pkg, "esm", "ct", "clip.js"));
  assert.equal((at("./local.ts") as { path: string }).path, join(project, "local.ts"));
  assert.equal((at("local.ts") as { path: string }).path, join(project, "local.ts"), "an existing file");
  // A folder named like the package beside the pipeline (its sources, `npm install ./@lab/stages`-style) is
  // not a plugin file: the bare name still resolves through node_modules.
  mkdirSync(join(project, "@lab", "stages"), { recursive: true });
  assert.equal(
    (at("@lab/stages") as { path: string }).path,
    join(pkg, "esm/index.js"),
    "a folder is not a file",
  );
  assert.deepEqual(at("npm:dcmflow-plugin-x@1"), { url: "npm:dcmflow-plugin-x@1" });
  const missing = at("dcmflow-plugin-nope") as { problem: string };
  assert.match(
    missing.problem,
    /no package "dcmflow-plugin-nope" in a node_modules folder at or above .*deep/,
  );
  assert.match(missing.problem, /npm install dcmflow-plugin-nope/);
  assert.equal(
    resolveExports({ ".": { require: "./a.cjs" } }, "."),
    undefined,
    "require-only is not for import",
  );
  assert.equal(resolveExports("./main.js", "."), "./main.js");
  assert.equal(resolveExports([{ worker: "./w.js" }, "./fallback.js"], "."), "./fallback.js");
});

Deno.test("plugins: a plugin whose stages come from another copy of effect is refused, naming both copies", async () => {
  const dir = tempDir();
  const pkg = join(dir, "node_modules", "dcmflow-plugin-stray");
  mkdirSync(join(pkg, "node_modules", "effect"), { recursive: true });
  writeFileSync(join(pkg, "package.json"), JSON.stringify({ name: "dcmflow-plugin-stray", main: "mod.js" }));
  writeFileSync(join(pkg, "node_modules", "effect", "package.json"), JSON.stringify({ version: "4.0.6" }));
  // what a Schema of a second copy looks like to ours: the same type id, AST nodes of other classes
  writeFileSync(
    join(pkg, "mod.js"),
    `class Number { _tag = "Number"; }
export default { name: "stray", stages: [{ name: "stray", description: "", accepts: ["display"],
  produces: "same", params: { "~effect/Schema": "~effect/Schema", ast: new Number() }, run: () => undefined }] };
`,
  );
  writeFileSync(
    join(dir, "p.yaml"),
    "dcmflow: 1\nplugins: [dcmflow-plugin-stray]\nstages: [{ use: decode }]\n",
  );
  const e = await loadPipelinePromise(join(dir, "p.yaml")).then(() => undefined, (e) => e);
  assert.ok(e instanceof PipelineError, String(e));
  assert.equal(e.code, "PLUGIN_LOAD");
  assert.match(e.render(), /p\.yaml:2:\d+: plugin "dcmflow-plugin-stray" uses another copy of effect/);
  assert.match(
    e.message,
    /\(4\.0\.6 at .*dcmflow-plugin-stray\/node_modules\/effect\) than dcmflow \(4\.1\.0 at /,
  );
  assert.match(e.message, /peerDependency/);
});

Deno.test("mod.ts: the Promise API loads a file or text and processes bytes, with platform services", async () => {
  const plan = await loadPipelinePromise("pipelines/seed-recipe.yaml");
  const { image, files } = await processBytesPromise(
    plan,
    readFileSync("tests/fixtures/e2e/ct-signed16.dcm"),
  );
  assert.deepEqual(image.shape, [1, 1, 224, 224]);
  assert.deepEqual([...files.keys()], [".png", ".npy", ".json"]);
  const want = readNpy("tests/fixtures/e2e/ct-signed16.expected.npy");
  assert.ok(maxAbsDiff(image.data, want.data) <= 1e-4);

  const inline = await loadPipelinePromise({
    file: "inline.yaml",
    text: "dcmflow: 1\nstages: [{ use: decode }, { use: rescale }]",
  });
  assert.equal(inline.stages.length, 1);
  const bad = await loadPipelinePromise({ file: "bad.yaml", text: "dcmflow: 1\nstages: [{ use: nope }]" })
    .then(() => undefined, (e) => e);
  assert.ok(bad instanceof PipelineError);
  assert.equal(bad.code, "UNKNOWN_STAGE");
  assert.match(bad.render(), /^bad\.yaml:2:\d+: unknown stage "nope"/);
  const notDicom = await processBytesPromise(inline, new Uint8Array(16)).then(() => undefined, (e) => e);
  assert.equal(notDicom?.code, "NOT_DICOM");
});

// ---------------------------------------------------------------------------------------------------------
// The packed tarball in a fresh project: `deno task test:package`

/** The code blocks of README.md that name a file (```ts embed.ts), by that name. */
export const readmeFiles = (): Map<string, string> => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const files = new Map<string, string>();
  for (const m of readme.matchAll(/^```\w+ ([\w./-]+)\n([\s\S]*?)^```$/gm)) files.set(m[1], m[2]);
  return files;
};

/** The README's files under `dir` (those in a folder: only when `folder` is given, without it). */
const writeReadmeFiles = (dir: string, folder?: string) => {
  for (const [name, text] of readmeFiles()) {
    const inFolder = name.includes("/");
    if (folder === undefined ? inFolder : !name.startsWith(`${folder}/`)) continue;
    const path = join(dir, folder === undefined ? name : name.slice(folder.length + 1));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }
};

/** A plugin package whose `effect` is its own dependency (a second copy). */
const writeStrayPlugin = (dir: string) => {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({
      name: "dcmflow-plugin-stray",
      version: "1.0.0",
      type: "module",
      exports: "./mod.js",
      dependencies: { effect: "4.0.6" },
      peerDependencies: { dcmflow: ">=0.1.0" },
    }),
  );
  writeFileSync(
    join(dir, "mod.js"),
    `import { Effect, Schema } from "effect";
import { definePlugin, defineStage } from "dcmflow/plugin";
const stray = defineStage({
  name: "stray", description: "made with its own copy of effect", accepts: ["modality"], produces: "same",
  params: Schema.Struct({ lo: Schema.Finite }), run: (image) => Effect.succeed(image),
});
export default definePlugin({ name: "stray", stages: [stray] });
`,
  );
};

/** `npm pack` of a folder into `dest`; returns the tarball's path. */
const npmPack = (dir: string, dest: string): { tarball: string; info: Record<string, unknown> } => {
  const out = ok(run("npm", ["pack", "--json", "--pack-destination", dest], dir), `npm pack ${dir}`);
  const info = JSON.parse(out.slice(out.indexOf("[")))[0];
  return { tarball: join(dest, info.filename), info };
};

/** Packs dcmflow and two plugin packages, and installs them into a fresh project; returns the project. */
const installProject = (base: string) => {
  const { tarball, info } = npmPack(ROOT, base);
  const files = (info.files as Array<{ path: string }>).map((f) => f.path);
  for (
    const f of ["dist/cli.js", "dist/mod.js", "dist/types/mod.d.ts", "shaders/window.wgsl", "package.json"]
  ) {
    assert.ok(files.includes(f), `${f} is not in the tarball`);
  }
  const stray = files.filter((f) => (f.endsWith(".ts") && !f.endsWith(".d.ts")) || f.startsWith("tests/"));
  assert.deepEqual(stray, [], "the tarball carries JavaScript, not the sources or tests");
  console.log(`dcmflow tarball: ${files.length} files, ${info.size} bytes, ${info.unpackedSize} unpacked`);

  writeReadmeFiles(join(base, "dcmflow-plugin-clip"), "dcmflow-plugin-clip");
  writeStrayPlugin(join(base, "dcmflow-plugin-stray"));
  const clip = npmPack(join(base, "dcmflow-plugin-clip"), base).tarball;
  const strayTarball = npmPack(join(base, "dcmflow-plugin-stray"), base).tarball;

  const project = join(base, "project");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    JSON.stringify({
      name: "uses-dcmflow",
      private: true,
      type: "module",
      dependencies: {
        dcmflow: `file:${tarball}`,
        effect: PKG.devDependencies.effect,
        "dcmflow-plugin-clip": `file:${clip}`,
        "dcmflow-plugin-stray": `file:${strayTarball}`,
      },
    }),
  );
  ok(run("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error"], project), "npm install");
  for (const demo of ["pipelines", "models", "samples"]) {
    cpSync(join(project, "node_modules", "dcmflow", demo), join(project, demo), { recursive: true });
  }
  writeReadmeFiles(project);
  writeCodecCheck(project);
  writeFileSync(
    join(project, "stray.yaml"),
    "dcmflow: 1\nplugins: [dcmflow-plugin-stray]\nstages: [{ use: decode }]\n",
  );
  return project;
};

/**
 * `codecs.mjs`: decodes a JPEG-LS, a JPEG 2000, a JPEG baseline and a JPEG lossless fixture (the built-in
 * decoder's WebAssembly loop, bundled), printing the codec of each and the first samples of the last.
 */
const writeCodecCheck = (project: string) => {
  const files = [
    "jpegls_lossless_signed.dcm",
    "j2k_ybr_rct.dcm",
    "jpeg_baseline.dcm",
    "jpeg_lossless_sv1.dcm",
  ];
  for (const f of files) cpSync(join(ROOT, "tests/fixtures/dicom", f), join(project, f));
  writeFileSync(
    join(project, "codecs.mjs"),
    `import { readFileSync } from "node:fs";
import { decodeDicomAsync } from "dcmflow/dicom";
for (const f of ${JSON.stringify(files)}) {
  const { meta, data } = await decodeDicomAsync(new Uint8Array(readFileSync(f)));
  console.log(meta.codec);
  if (f.includes("lossless")) console.log("samples " + Array.from(data.subarray(0, 8)).join(","));
}
`,
  );
};

/** The first 8 stored values of jpeg_lossless_sv1.dcm, as dcmdjpeg gives them (its committed .npy). */
const losslessHead = (): string =>
  Array.from(
    decodeNpy(new Uint8Array(readFileSync(join(ROOT, "tests/fixtures/dicom/jpeg_lossless_sv1.npy"))))
      .data.slice(0, 8),
    Number,
  ).join(",");

/** README's embedding examples, as printed, and what each prints. */
const EMBEDDING: ReadonlyArray<[string, RegExp]> = [
  ["embed.ts", /\{\s*total: 6,\s*ok: 6,\s*error: 0,?\s*\}/],
  ["tensors.ts", /^display \[ 1, 1, 256, 256 \] 0$/m],
  ["effect.ts", /^-1024$/m],
];

Deno.test({
  name: "package: the packed tarball installed in a fresh project, under Deno and Bun, as the README says",
  ignore: Deno.env.get("DCMFLOW_PACKAGE_TEST") !== "1",
  sanitizeResources: false,
  fn: () => {
    const base = tempDir("dcmflow-package-");
    const project = installProject(base);
    const bun = bunPath();
    const deno = Deno.execPath();
    for (const [file, printed] of EMBEDDING) {
      assert.match(ok(run(deno, ["run", "-A", file], project), `deno ${file}`), printed);
      assert.match(ok(run(bun, [file], project), `bun ${file}`), printed);
    }
    // the codecs load their WebAssembly builds from the installed packages, under every runtime
    for (
      const [name, cmd, pre] of [["deno", deno, ["run", "-A"]], ["bun", bun, []], [
        "node",
        "node",
        [],
      ]] as const
    ) {
      const printed = ok(run(cmd, [...pre, "codecs.mjs"], project), `${name} codecs.mjs`);
      for (const codec of ["CharLS", "OpenJPEG", "libjpeg-turbo 8-bit"]) {
        assert.match(printed, new RegExp(`^${codec} \\(WASM, @cornerstonejs/`, "m"), `${name}: ${printed}`);
      }
      assert.match(printed, /^built-in JPEG lossless decoder/m, `${name}: ${printed}`);
      assert.match(printed, new RegExp(`^samples ${losslessHead()}$`, "m"), `${name}: ${printed}`);
    }
    // the declarations: README's examples type-check against dist/types
    ok(run(deno, ["check", ...EMBEDDING.map(([f]) => f), "my_stage.ts"], project), "deno check");

    // TypeScript plugin files need Bun or Deno; Node (20) runs the command with JavaScript plugins
    const clis: ReadonlyArray<[string, string, string[], string[]]> = [
      ["bunx --bun dcmflow", bun, ["x", "--bun", "dcmflow"], ["my.yaml", "clip.yaml"]],
      ["deno run -A npm:dcmflow", deno, ["run", "-A", "npm:dcmflow"], ["my.yaml", "clip.yaml"]],
      ["node_modules/.bin/dcmflow", join(project, "node_modules/.bin/dcmflow"), [], ["clip.yaml"]],
    ];
    for (const [name, cmd, pre, pipelines] of clis) {
      for (const pipeline of pipelines) {
        assert.match(ok(run(cmd, [...pre, "validate", pipeline], project), `${name} validate`), /: ok/);
      }
      const stray = run(cmd, [...pre, "validate", "stray.yaml"], project);
      assert.equal(stray.code, 2, `${name}: ${stray.stderr}`);
      assert.match(
        stray.stderr,
        /error\[PLUGIN_LOAD\]: stray\.yaml:2:\d+: plugin "dcmflow-plugin-stray" uses/,
      );
      assert.match(
        stray.stderr,
        /\(4\.0\.6 at .*dcmflow-plugin-stray\/node_modules\/effect\) than dcmflow \(4\.1\.0/,
      );
    }
    // the plugin package's elementwise stage, on the CPU (Bun, Deno) and with its own WGSL file on the GPU
    const input = ["-i", "samples/ct-study/slice-003.dcm", "-q"];
    const denoRun = (device: string) =>
      run(deno, [
        "run",
        "-A",
        "npm:dcmflow",
        "run",
        "clip.yaml",
        ...input,
        "-o",
        `out-${device}`,
        "--device",
        device,
      ], project);
    ok(
      run(bun, ["x", "--bun", "dcmflow", "run", "clip.yaml", ...input, "-o", "out-bun"], project),
      "bun run",
    );
    ok(denoRun("cpu"), "deno run --device cpu");
    const npy = (out: string) => readNpy(join(project, out, "slice-003.npy")).data;
    assert.ok(maxAbsDiff(npy("out-bun"), npy("out-cpu")) === 0, "Bun and Deno write the same tensor");
    const gpu = denoRun("gpu");
    if (gpu.code === 0) {
      assert.ok(maxAbsDiff(npy("out-gpu"), npy("out-cpu")) <= 1e-5, "clip.wgsl on the GPU = the CPU form");
    } else {
      assert.ok(Deno.env.get("DCMFLOW_REQUIRE_GPU") !== "1", `GPU run failed: ${gpu.stderr}`);
      console.warn(`%cNOT RUN (no WebGPU adapter): the plugin package's WGSL on the GPU`, "color: red");
    }
    // The bin under Node uses worker threads too (node:worker_threads behind the pool's Web Worker face).
    const study = ["-i", "samples/ct-study", "-q", "--workers", "2"];
    const bin = join(project, "node_modules/.bin/dcmflow");
    ok(run(bin, ["run", "clip.yaml", ...study, "-o", "out-node"], project), "node bin, 2 workers");
    ok(
      run(deno, ["run", "-A", "npm:dcmflow", "run", "clip.yaml", ...study, "-o", "out-deno"], project),
      "deno",
    );
    const ledgerOf = (out: string) =>
      JSON.parse(readFileSync(join(project, out, "dcmflow-run.json"), "utf8"));
    assert.equal(ledgerOf("out-node").workers, 2, "the Node run used its worker threads");
    assert.match(ledgerOf("out-node").runtime, /^node /);
    const written = readdirSync(join(project, "out-deno")).filter((f) => f.endsWith(".npy"));
    assert.equal(written.length, 6);
    for (const name of written) {
      const [a, b] = ["out-node", "out-deno"].map((o) => readFileSync(join(project, o, name)));
      assert.ok(a.equals(b), `${name}: Node and Deno write the same bytes`);
    }
    const npmDu = execFileSync("du", ["-sm", join(project, "node_modules")], { encoding: "utf8" });
    console.log(
      `installed node_modules: ${npmDu.split("\t")[0]} MB (${
        readdirSync(join(project, "node_modules")).length
      } entries)`,
    );
    rmSync(base, { recursive: true, force: true });
  },
});
