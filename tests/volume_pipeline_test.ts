/**
 * `group: series` end to end: the CLI's `--group series`, one ledger entry per series with its members and
 * warnings, errors for series that cannot be volumes, output names, the README's 3-D example, and the GPU
 * path (resample kernel, geometry carried through) against the CPU path.
 */
import assert from "node:assert/strict";
import { NodeServices } from "@effect/platform-node";
import { Effect } from "effect";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPipeline, planText } from "../mod.ts";
import type { Plan } from "../core/planner.ts";
import { type Ledger, type RunOptions, runPlan } from "../core/runtime.ts";
import { voxelToPatient } from "../dicom/mod.ts";
import { gunzip, orthogonalViews, readNifti } from "../docs/volume-views.ts";
import { gpuTest, maxAbsDiff, readJson, readNpy, runCli, tempDir } from "./helpers.ts";

const provide = <A, E>(e: Effect.Effect<A, E, unknown>) =>
  Effect.runPromise(e.pipe(Effect.provide(NodeServices.layer)) as Effect.Effect<A, E>);

const run = (plan: Plan, inputs: string[], options: Partial<RunOptions> = {}) => {
  const out = join(tempDir(), "out");
  return provide(runPlan(plan, { inputs, out, ...options })).then((ledger) => ({ ledger, out }));
};

const expected = readJson("tests/fixtures/series/expected.json").cases;

Deno.test("--group series: one ledger entry per series, members and warnings, errors, output names", async () => {
  const out = join(tempDir(), "out");
  const pipeline = join(tempDir(), "volume.yaml");
  Deno.writeTextFileSync(
    pipeline,
    "dcmflow: 1\ndevice: cpu\nstages:\n  - use: decode\n  - use: rescale\n  - use: write\n    with: { format: npy }\n",
  );
  const r = await runCli([
    "run",
    pipeline,
    "--input",
    "tests/fixtures/series",
    "--out",
    out,
    "--group",
    "series",
    "--workers",
    "2",
  ]);
  assert.equal(r.code, 1, "gap and duplicate fail, the others are written");
  const ledger = readJson(join(out, "dcmflow-run.json")) as Ledger;
  assert.equal(ledger.pipeline.group, "series");
  assert.equal(ledger.workers, 2, "series ran on worker threads (a group travels with its task)");
  const byFolder = (f: string) =>
    ledger.inputs.filter((e) => e.input.startsWith(`tests/fixtures/series/${f}/`));
  const entry = (f: string) => {
    const found = byFolder(f);
    assert.equal(found.length, 1, `one entry for ${f}`);
    return found[0] as typeof found[0] & { members?: string[]; warnings?: string[] };
  };
  assert.equal(entry("gap").error?.code, "SERIES_MISSING_SLICES");
  assert.equal(entry("gap").members?.length, 9);
  assert.equal(entry("duplicate").error?.code, "SERIES_DUPLICATE_POSITION");
  assert.equal(byFolder("split").length, 2);
  assert.match(entry("tilt").warnings!.join(), /gantry tilt/);
  // Files that are not DICOM get entries of their own.
  assert.ok(ledger.inputs.some((e) => e.input.endsWith("expected.json") && e.error?.code === "NOT_DICOM"));
  // Every file is in exactly one entry.
  const members = ledger.inputs.flatMap((e) => (e as { members?: string[] }).members ?? [e.input]);
  assert.equal(new Set(members).size, members.length);
  // Output: DIR/<folder>/<SeriesInstanceUID>.npy, a volume in slice order with Hounsfield units.
  const ob = entry("oblique");
  assert.equal(ob.status, "ok");
  assert.equal(ob.members!.length, 10);
  assert.notDeepEqual(ob.members, [...ob.members!].sort(), "members in slice order, not name order");
  const uid = ob.input.split("/").pop()!;
  assert.deepEqual(ob.outputs, [join(out, "oblique", `${uid}.npy`)]);
  const npy = readNpy(ob.outputs[0]);
  assert.deepEqual(npy.shape, [10, 1, 24, 32]);
  const affine = expected.oblique.affine as number[];
  const hu = (p: readonly number[]) => 100 + 2 * p[0] - 3 * p[1] + 5 * p[2];
  let worst = 0;
  for (const [s, r, c] of [[0, 0, 0], [9, 23, 31], [4, 11, 17], [7, 2, 30]]) {
    worst = Math.max(worst, Math.abs(npy.data[(s * 24 + r) * 32 + c] - hu(voxelToPatient(affine, c, r, s))));
  }
  assert.ok(worst <= 0.5 + 1e-6, `HU at the affine's positions: ${worst}`);
  const parts = byFolder("split").map((e) => e.outputs[0]);
  assert.deepEqual(parts.map((p) => p.endsWith("-2.npy")), [false, true], "the second part is UID-2");
});

Deno.test("shards split series, never a series: every file in exactly one shard, whole", async () => {
  const plan = await provide(planText(
    "dcmflow: 1\ndevice: cpu\ngroup: series\nstages:\n  - use: decode\n  - use: write\n    with: { format: npy }\n",
    "s.yaml",
  ));
  const out = join(tempDir(), "out");
  const members: string[] = [];
  for (const shard of ["0/2", "1/2"]) {
    const ledger = await provide(runPlan(plan, { inputs: ["tests/fixtures/series"], out, shard }));
    assert.ok(ledger.inputs.length > 0, `shard ${shard} has work`);
    for (const e of ledger.inputs) members.push(...(e.members ?? [e.input]));
  }
  const all = readdirSync("tests/fixtures/series", { recursive: true }).map(String)
    .filter((f) => !Deno.statSync(join("tests/fixtures/series", f)).isDirectory);
  assert.equal(members.length, all.length);
  assert.equal(new Set(members).size, all.length);
});

Deno.test("group: names a grouping the source stage has, checked before anything runs", async () => {
  const text =
    "dcmflow: 1\ngroup: seris\nstages:\n  - use: decode\n  - use: write\n    with: { format: npy }\n";
  const r = await Effect.runPromise(Effect.result(planText(text, "g.yaml")));
  assert.equal(r._tag, "Failure");
  const e = (r as { failure: { code: string; message: string; location?: { line: number } } }).failure;
  assert.equal(e.code, "PLAN_MISMATCH");
  assert.match(
    e.message,
    /group: seris: the source stage "decode" groups by series\. Did you mean "series"\?/,
  );
  assert.equal(e.location?.line, 2);
});

Deno.test("resample to a spacing outside group: series fails each input with a code that says what to do", async () => {
  const plan = await provide(planText(
    "dcmflow: 1\ndevice: cpu\nstages:\n  - use: decode\n  - use: resample\n    with: { spacing: 1 }\n" +
      "  - use: write\n    with: { format: npy }\n",
    "r.yaml",
  ));
  const { ledger } = await run(plan, ["samples/ct-study/slice-001.dcm"]);
  assert.equal(ledger.inputs[0].error?.code, "RESAMPLE_NO_SPACING");
  assert.match(ledger.inputs[0].error!.message, /group: series/);
});

Deno.test("the README's 3-D example: series -> HU -> 1 mm -> window -> NIfTI, and its picture's views", async () => {
  const plan = await provide(loadPipeline("pipelines/ct-volume-1mm.yaml", { overrides: ["device=cpu"] }));
  const { ledger, out } = await run(plan, ["samples/ct-volume"]);
  assert.equal(ledger.summary.ok, 1);
  const file = ledger.inputs[0].outputs[0];
  assert.match(file, /\.nii\.gz$/);
  const vol = readNifti(await gunzip(new Uint8Array(readFileSync(file))));
  // 64 x 64 x 32 voxels of 4 mm -> 1 mm.
  assert.deepEqual(vol.dims, [256, 256, 128]);
  assert.ok(vol.data.every((v) => v >= 0 && v <= 1), "windowed to [0, 1]");
  const views = orthogonalViews(vol);
  assert.deepEqual(views.shape, [1, 1, 256, 256 + 256 + 256 + 8]);
  // The axial view is the middle slice as stored.
  const mid = 64 * 256 * 256;
  assert.equal(views.data[100 * views.shape[3] + 30], vol.data[mid + 100 * 256 + 30]);
  assert.ok(existsSync(join(out, "dcmflow-run.json")));
  assert.ok(readdirSync("docs").includes("ct-volume-views.png"));
});

gpuTest("group: series on the GPU path: resample kernel and geometry equal the CPU path", async () => {
  const text = (device: string) =>
    `dcmflow: 1\ndevice: ${device}\ngroup: series\nstages:\n  - use: decode\n  - use: rescale\n` +
    "  - use: resample\n    with: { spacing: [1, 1, 1] }\n  - use: write\n    with: { format: npy }\n" +
    "  - use: write\n    id: nii\n    with: { format: nifti }\n";
  // oblique, tilt and rescale differ in shape: three GPU batches. tilt and enhanced have one shape but
  // resample to different sizes (their spacings differ): that batch runs on the CPU, and says why.
  const inputs = ["oblique", "tilt", "rescale", "enhanced"].map((c) => `tests/fixtures/series/${c}`);
  const cpu = await run(await provide(planText(text("cpu"), "c.yaml")), inputs);
  const gpu = await run(await provide(planText(text("gpu"), "g.yaml")), inputs);
  assert.equal(gpu.ledger.device.kind, "gpu");
  assert.equal(gpu.ledger.summary.ok, 4);
  const fallbacks = gpu.ledger.inputs.filter((e) => e.fallback);
  assert.deepEqual(fallbacks.map((e) => e.input.split("/")[3]).sort(), ["enhanced", "tilt"]);
  assert.match(fallbacks[0].fallback!, /RESAMPLE_MIXED_BATCH/);
  for (const [k, e] of cpu.ledger.inputs.entries()) {
    const g = gpu.ledger.inputs[k];
    assert.equal(g.input, e.input);
    const a = readNpy(e.outputs.find((o) => o.endsWith(".npy"))!);
    const b = readNpy(g.outputs.find((o) => o.endsWith(".npy"))!);
    assert.deepEqual(a.shape, b.shape);
    const scale = Math.max(...a.data.map(Math.abs));
    const d = maxAbsDiff(a.data, b.data);
    assert.ok(d <= 1e-6 * scale, `${e.input}: GPU vs CPU ${d}, more than 1e-6 of the values' scale ${scale}`);
    const ha = (await gunzip(new Uint8Array(readFileSync(e.outputs.find((o) => o.endsWith(".nii.gz"))!))))
      .slice(0, 352);
    const hb = (await gunzip(new Uint8Array(readFileSync(g.outputs.find((o) => o.endsWith(".nii.gz"))!))))
      .slice(0, 352);
    assert.deepEqual(hb, ha, `${e.input}: the same NIfTI header (affine updated on the GPU path too)`);
  }
});

gpuTest("a series' warnings appear once in its ledger entry on the CPU and the GPU path", async () => {
  const pipeline = join(tempDir(), "volume.yaml");
  Deno.writeTextFileSync(
    pipeline,
    "dcmflow: 1\nstages:\n  - use: decode\n  - use: rescale\n  - use: write\n    with: { format: npy }\n",
  );
  for (const device of ["cpu", "gpu"]) {
    const out = join(tempDir(), "out");
    const args = ["run", pipeline, "-i", "tests/fixtures/series/tilt", "-o", out, "--group", "series", "-q"];
    const r = await runCli([...args, "--device", device]);
    assert.equal(r.code, 0, r.stderr);
    const [entry] = (readJson(join(out, "dcmflow-run.json")) as Ledger).inputs;
    assert.equal(entry.warnings?.length, 1, `${device}: ${entry.warnings?.join(" | ")}`);
    assert.match(entry.warnings![0], /^gantry tilt: /, device);
  }
});
