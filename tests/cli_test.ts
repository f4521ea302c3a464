import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readJson, readNpy, runCli, tempDir } from "./helpers.ts";

const FIX = "tests/fixtures/dicom";

/** Every file under a folder, relative, sorted. */
const listFiles = (dir: string): string[] =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();

Deno.test("validate catches a misspelt stage with its line and a suggestion (exit 2)", async () => {
  const dir = tempDir();
  const file = join(dir, "p.yaml");
  writeFileSync(
    file,
    "dcmflow: 1\nstages:\n  - use: decode\n  - use: rescal\n  - use: write\n    with: { format: npy }\n",
  );
  const r = await runCli(["validate", file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    new RegExp(`${file.replaceAll("/", "\\/")}:4:10: unknown stage "rescal"\\. Did you mean "rescale"\\?`),
  );
  assert.equal(r.stdout, "");
});

Deno.test("validate prints the plan with the tensor after each stage", async () => {
  const r = await runCli(["validate", "pipelines/seed-recipe.yaml"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ok - "ct-soft-tissue-224", 8 stages/);
  assert.match(r.stdout, /window\s+-> display \[\?, \?, \?, \?\]\s+\[gpu: fused\]/);
  assert.match(r.stdout, /tensor\s+-> features \[\?, \?, 224, 224\]\s+\[cpu\] {2}\(use: write\)/);
});

Deno.test("run: one broken file among good ones -> exit 1, every good output written, coded ledger", async () => {
  const inDir = tempDir();
  mkdirSync(join(inDir, "series"));
  for (const f of ["slice-001.dcm", "slice-002.dcm"]) {
    copyFileSync(join("samples/ct-study", f), join(inDir, "series", f));
  }
  copyFileSync(join(FIX, "not_dicom.dcm"), join(inDir, "series", "broken.dcm"));
  copyFileSync(join(FIX, "truncated.dcm"), join(inDir, "truncated.dcm"));
  copyFileSync(join(FIX, "no_pixels.dcm"), join(inDir, "IM0001")); // no extension
  const out = join(tempDir(), "out");
  const r = await runCli(["run", "pipelines/seed-recipe.yaml", "--input", inDir, "--out", out]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(listFiles(out), [
    "dcmflow-run.json",
    "series/slice-001.json",
    "series/slice-001.npy",
    "series/slice-001.png",
    "series/slice-002.json",
    "series/slice-002.npy",
    "series/slice-002.png",
  ]);
  const ledger = readJson(join(out, "dcmflow-run.json"));
  const byInput = Object.fromEntries(
    ledger.inputs.map((e: { input: string }) => [e.input.slice(inDir.length + 1), e]),
  );
  assert.equal(ledger.inputs.length, 5);
  assert.equal(byInput["series/broken.dcm"].error.code, "NOT_DICOM");
  assert.equal(byInput["truncated.dcm"].error.code, "TRUNCATED");
  assert.equal(byInput["IM0001"].error.code, "MISSING_PIXEL_DATA");
  assert.equal(byInput["series/slice-001.dcm"].status, "ok");
  assert.deepEqual(
    byInput["series/slice-001.dcm"].outputs.map((p: string) => p.slice(out.length + 1)).sort(),
    [
      "series/slice-001.json",
      "series/slice-001.npy",
      "series/slice-001.png",
    ],
  );
  assert.deepEqual(ledger.summary, { total: 5, ok: 2, error: 3 });
  assert.equal(ledger.device.kind, "cpu");
  assert.equal(readNpy(join(out, "series/slice-001.npy")).shape.join(","), "1,1,224,224");
  assert.match(r.stdout, /5 input\(s\), 2 ok, 3 failed/);
  assert.match(r.stderr, /error .*broken\.dcm: NOT_DICOM/);
  // No temporary files are left behind.
  assert.ok(!listFiles(out).some((f) => f.includes(".tmp-") || f.includes(".dcmflow-tmp-")));
});

Deno.test("run: naming keeps a full name without .dcm; --set and --device cpu apply; exit 0", async () => {
  const inDir = tempDir();
  copyFileSync("samples/ct-study/slice-003.dcm", join(inDir, "IM0003"));
  const out = join(tempDir(), "o");
  const r = await runCli([
    "run",
    "pipelines/ct-lung-rgb.yaml",
    "--input",
    join(inDir, "IM0003"),
    "--out",
    out,
    "--device",
    "cpu",
    "--set",
    "stages.lung.preset=mediastinum",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(existsSync(join(out, "IM0003.npy")));
  assert.deepEqual(readNpy(join(out, "IM0003.npy")).shape, [1, 3, 224, 224]);
  const ledger = readJson(join(out, "dcmflow-run.json"));
  assert.deepEqual(ledger.pipeline.overrides, ["stages.lung.preset=mediastinum"]);
  assert.deepEqual(ledger.pipeline.stages[2].with, { preset: "mediastinum" });
});

Deno.test("command-line errors exit 2 and run nothing", async () => {
  const out = join(tempDir(), "never");
  const missing = await runCli([
    "run",
    "pipelines/seed-recipe.yaml",
    "--input",
    "does/not/exist",
    "--out",
    out,
  ]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /--input does\/not\/exist: no such file or folder/);
  assert.ok(!existsSync(out));
  const noPipeline = await runCli(["run", "nope.yaml", "--input", "samples", "--out", out]);
  assert.equal(noPipeline.code, 2);
  assert.match(noPipeline.stderr, /cannot read pipeline file nope\.yaml/);
  const noArgs = await runCli(["run"]);
  assert.equal(noArgs.code, 2);
});

Deno.test("inspect summarises a header; plugins lists stages with parameters", async () => {
  const r = await runCli(["inspect", "samples/ct-study/slice-001.dcm"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /transfer syntax\s+Explicit VR Little Endian \(1\.2\.840\.10008\.1\.2\.1\)/);
  assert.match(r.stdout, /windows\s+40\/400 \(SOFT_TISSUE\), -600\/1500 \(LUNG\)/);
  const bad = await runCli(["inspect", `${FIX}/not_dicom.dcm`]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /NOT_DICOM/);
  const p = await runCli(["plugins", "tests/fixtures/plugins/gamma.yaml"]);
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /^window {2}\(built-in; modality -> display\)/m);
  assert.match(p.stdout, /center\?: number {2}- window center/);
  assert.match(p.stdout, /^gamma {2}\(\.\/gamma\.ts; display -> same\)/m);
});
