/**
 * Enhanced multi-frame objects whose frames have their own Modality LUT and window (per-frame functional
 * groups): each frame gets its own, on every path (stage by stage, the fused CPU chain, the GPU's fallback),
 * against numpy and pydicom references (tests/fixtures/dicom/make_enhanced_fixtures.py).
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeDicomAsync, type RawPixels } from "../dicom/mod.ts";
import { FusedChain } from "../core/cpu/fused.ts";
import type { AnyImageStage, KernelValues, LookupInput, Upload } from "../core/stage.ts";
import * as Schema from "effect/Schema";
import { runElementwise } from "../core/elementwise.ts";
import { makeRegistry } from "../core/registry.ts";
import { builtinStages } from "../plugins/mod.ts";
import { defineStage, wgslText } from "../plugin.ts";
import { type Plan, planText, processBytes, runPipelinePromise } from "../mod.ts";
import { decodeNpy } from "../core/npy.ts";
import { gpuTest, maxAbsDiff, readJson, readNpy, runCli, tempDir } from "./helpers.ts";

const DIR = "tests/fixtures/dicom";
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, name)));
const reference = (name: string) => decodeNpy(read(name));

const pipeline = (...stages: string[]) => `dcmflow: 1\nstages:\n  - use: decode\n${stages.join("")}`;
const RESCALE = pipeline("  - use: rescale\n");
const WINDOW = pipeline("  - use: rescale\n", "  - use: window\n    with: { from: dicom }\n");

const processed = async (text: string, name: string) => {
  const plan = await Effect.runPromise(planText(text, "p.yaml"));
  return (await Effect.runPromise(processBytes(plan, read(name)))).image;
};

const failure = async (text: string, name: string) => {
  const plan = await Effect.runPromise(planText(text, "p.yaml"));
  const exit = await Effect.runPromiseExit(processBytes(plan, read(name)));
  assert.equal(exit._tag, "Failure", `${name} should fail`);
  return String((exit as { cause: unknown }).cause);
};

Deno.test("the header reads each frame's RescaleSlope/Intercept and windows when the frames differ", async () => {
  const { meta } = await decodeDicomAsync(read("enhanced_per_frame.dcm"));
  assert.deepEqual(meta.frameRescale, { slopes: [1, 0.5, 2, 1.25], intercepts: [-1024, -1000, 0, 10.5] });
  assert.equal(meta.rescaleSlope, 1, "the first frame's, for whoever reads one value");
  assert.equal(meta.rescaleIntercept, -1024);
  assert.deepEqual(meta.frameVoi?.map((v) => v.windows.map((w) => [w.center, w.width, w.explanation])), [
    [[40, 400, "SOFT"]],
    [[-600, 1500, "LUNG"], [40, 80, "BRAIN"]],
    [[300, 1, "THRESHOLD"]],
    [[0, 2000, "WIDE"]],
  ]);
  assert.deepEqual(meta.frameVoi?.map((v) => v.voiLutFunction), [
    undefined,
    undefined,
    "LINEAR_EXACT",
    "SIGMOID",
  ]);
  assert.deepEqual(meta.windows.map((w) => w.center), [40]);
  // Items that differ in other attributes but give every frame the same values: one slope and intercept.
  const uniform = (await decodeDicomAsync(read("enhanced_uniform_items.dcm"))).meta;
  assert.equal(uniform.frameRescale, undefined);
  assert.deepEqual([uniform.rescaleSlope, uniform.rescaleIntercept], [2, -100]);
});

for (const name of ["enhanced_per_frame.dcm", "enhanced_uniform_items.dcm"]) {
  Deno.test(`decode -> rescale applies each frame's own Modality LUT (${name}, numpy)`, async () => {
    const image = await processed(RESCALE, name);
    const ref = reference(name.replace(".dcm", ".modality.npy"));
    assert.deepEqual([...image.shape], ref.shape);
    assert.equal(maxAbsDiff(image.data, ref.data as Float32Array), 0);
  });
}

Deno.test("decode -> rescale -> window (from: dicom) uses each frame's own window (pydicom)", async () => {
  const image = await processed(WINDOW, "enhanced_per_frame.dcm");
  const ref = reference("enhanced_per_frame.window.npy");
  assert.deepEqual([...image.shape], ref.shape);
  assert.ok(
    maxAbsDiff(image.data, ref.data as Float32Array) <= 1e-6,
    `${maxAbsDiff(image.data, ref.data as Float32Array)}`,
  );
  assert.deepEqual(image.notes.rescale, {
    perFrame: true,
    slope: [1, 0.5, 2, 1.25],
    intercept: [-1024, -1000, 0, 10.5],
  });
  const window = image.notes.window as Record<string, unknown>;
  assert.deepEqual([window.perFrame, window.center, window.width], [true, [40, -600, 300, 0], [
    400,
    1500,
    1,
    2000,
  ]]);
  assert.deepEqual(window.function, ["linear", "linear", "linear_exact", "sigmoid"]);
  // `which` picks among each frame's windows: frame 2 has two, the others one.
  const second = await failure(
    WINDOW.replace("{ from: dicom }", "{ from: dicom, which: 1 }"),
    "enhanced_per_frame.dcm",
  );
  assert.match(second, /frame 1 of 4: which: 1 asks for windows #1, but the file has 1/);
});

Deno.test("pipeline slope/intercept override each frame's; equal values for every frame are one linear map", async () => {
  const image = await processed(
    pipeline("  - use: rescale\n    with: { slope: 1, intercept: 0 }\n"),
    "enhanced_per_frame.dcm",
  );
  assert.deepEqual(image.notes.rescale, { slope: 1, intercept: 0 });
  const stored = reference("enhanced_per_frame.npy");
  assert.equal(maxAbsDiff(image.data, Float32Array.from(stored.data as Int32Array)), 0);
  const intercept = await processed(
    pipeline("  - use: rescale\n    with: { intercept: 0 }\n"),
    "enhanced_per_frame.dcm",
  );
  assert.deepEqual(intercept.notes.rescale, {
    perFrame: true,
    slope: [1, 0.5, 2, 1.25],
    intercept: [0, 0, 0, 0],
  });
});

Deno.test("per-frame values that cannot be matched to frames are INVALID_DICOM; a frame without a window is named", async () => {
  const mismatch = await failure(RESCALE, "enhanced_frames_mismatch.dcm");
  assert.match(mismatch, /INVALID_DICOM|3 item\(s\) for NumberOfFrames 4/);
  assert.match(
    mismatch,
    /PixelValueTransformationSequence items give different RescaleSlope\/RescaleIntercept/,
  );
  const rescaled = await processed(RESCALE, "enhanced_window_missing.dcm");
  assert.equal((rescaled.notes.rescale as { perFrame: boolean }).perFrame, true);
  assert.match(
    await failure(WINDOW, "enhanced_window_missing.dcm"),
    /frame 3 of 4: the file has no WindowCenter/,
  );
});

/** The fixture through a whole run: its npy and its ledger entry. */
const runOne = async (options: { device: "cpu" | "gpu"; fuse?: boolean }) => {
  const input = tempDir();
  copyFileSync(join(DIR, "enhanced_per_frame.dcm"), join(input, "enhanced_per_frame.dcm"));
  const file = join(tempDir(), "p.yaml");
  writeFileSync(
    file,
    `${WINDOW}  - use: resize\n    with: { width: 16, height: 12 }\n  - use: write\n    with: { format: npy }\n`,
  );
  const out = join(tempDir(), "out");
  const ledger = await runPipelinePromise(file, { inputs: [input], out, workers: 0, ...options });
  assert.equal(ledger.summary.ok, 1, JSON.stringify(ledger.inputs));
  return {
    npy: readNpy(join(out, "enhanced_per_frame.npy")),
    entry: readJson(join(out, "dcmflow-run.json")).inputs[0],
  };
};

Deno.test("the fused CPU chain applies each frame's own values: its tables, and the resize's lookup entry", async () => {
  const fused = await runOne({ device: "cpu" });
  const plain = await runOne({ device: "cpu", fuse: false });
  assert.deepEqual(fused.npy.shape, [4, 1, 12, 16]);
  assert.ok(maxAbsDiff(fused.npy.data, plain.npy.data) <= 1e-6);
  assert.deepEqual(fused.entry.outputs.length, plain.entry.outputs.length);
  // The chain resolves every frame (its tables differ), and does not decline the image.
  const references = [
    [WINDOW, "enhanced_per_frame.window.npy", 1e-6],
    [RESCALE, "enhanced_per_frame.modality.npy", 0],
  ] as const;
  for (const [text, reference_, tolerance] of references) {
    const plan = await Effect.runPromise(planText(text, "p.yaml"));
    const chain = FusedChain.of(plan);
    const file = { path: "x.dcm", bytes: read("enhanced_per_frame.dcm") };
    const upload = await Effect.runPromise(
      plan.source.stage.prepare!(file, plan.source.params) as Effect.Effect<Upload, unknown>,
    );
    const ready = chain.resolve(upload);
    assert.ok(ready.ok && "frames" in ready && ready.frames?.length === 4, "resolved frame by frame");
    if (!ready.ok || upload.pixels.type !== "raw") throw new Error("unreachable");
    const tables = [0, 1, 2, 3].map((f) => chain.tables(upload.pixels as RawPixels, ready, f)[0]);
    assert.equal(new Set(tables).size, 4, "a table per frame");
    const image = chain.image(upload, ready);
    const ref = reference(reference_);
    assert.ok(maxAbsDiff(image.data, ref.data as Float32Array) <= tolerance, reference_);
    // The notes the stages' own `run` writes (the stage by stage path), for the image.
    assert.deepEqual(image.notes.rescale, {
      perFrame: true,
      slope: [1, 0.5, 2, 1.25],
      intercept: [-1024, -1000, 0, 10.5],
    });
  }
  // With a resize after the chain, the resize reads each frame's words through its tables (fromLookup).
  const seen: number[] = [];
  const text = `${WINDOW}  - use: resize\n    with: { width: 16, height: 12 }\n`;
  const plan = await Effect.runPromise(planText(text, "p.yaml"));
  const spied = {
    ...plan,
    stages: plan.stages.map((s) =>
      s.stage.fromLookup
        ? {
          ...s,
          stage: {
            ...s.stage,
            fromLookup: (input: LookupInput, params: unknown) => {
              seen.push(input.pixels.bytes.length);
              return s.stage.fromLookup!(input, params);
            },
          },
        }
        : s
    ),
  } as Plan;
  const { image } = await Effect.runPromise(processBytes(spied, read("enhanced_per_frame.dcm")));
  assert.deepEqual(
    seen,
    [24 * 32 * 2, 24 * 32 * 2, 24 * 32 * 2, 24 * 32 * 2],
    "one call per frame, its own words",
  );
  const unfused = await Effect.runPromise(
    processBytes(
      {
        ...plan,
        stages: plan.stages.map((s) => ({ ...s, stage: { ...s.stage, fromLookup: undefined } })),
      } as Plan,
      read("enhanced_per_frame.dcm"),
    ),
  );
  assert.deepEqual([...image.shape], [4, 1, 12, 16]);
  assert.ok(maxAbsDiff(image.data, unfused.image.data) <= 1e-6);
  assert.deepEqual(image.notes, unfused.image.notes);
});

gpuTest(
  "the GPU path applies each frame's own values in the fused kernel (per-frame parameters)",
  async () => {
    const gpu = await runOne({ device: "gpu" });
    const cpu = await runOne({ device: "cpu", fuse: false });
    assert.equal(gpu.entry.fallback, undefined, "on the GPU, not sent to the CPU");
    assert.ok(maxAbsDiff(gpu.npy.data, cpu.npy.data) <= 1e-5, `${maxAbsDiff(gpu.npy.data, cpu.npy.data)}`);
    // One batch of two images of one shape, one with values per frame and one with one set for all (its
    // values repeated for each frame in the kernel's parameters): each equals the CPU's.
    const input = tempDir();
    for (const n of ["enhanced_per_frame.dcm", "enhanced_uniform_items.dcm"]) {
      copyFileSync(join(DIR, n), join(input, n));
    }
    const file = join(tempDir(), "p.yaml");
    writeFileSync(file, `${RESCALE}  - use: write\n    with: { format: npy }\n`);
    const outs = { gpu: join(tempDir(), "gpu"), cpu: join(tempDir(), "cpu") };
    for (const device of ["gpu", "cpu"] as const) {
      const ledger = await runPipelinePromise(file, {
        inputs: [input],
        out: outs[device],
        workers: 0,
        device,
      });
      assert.equal(ledger.summary.ok, 2);
      assert.ok(ledger.inputs.every((e) => e.fallback === undefined));
    }
    for (const n of ["enhanced_per_frame", "enhanced_uniform_items"]) {
      const a = readNpy(join(outs.gpu, `${n}.npy`));
      assert.ok(maxAbsDiff(a.data, reference(`${n}.modality.npy`).data as Float32Array) <= 1e-3, n);
      assert.ok(maxAbsDiff(a.data, readNpy(join(outs.cpu, `${n}.npy`)).data) <= 1e-3, n);
    }
  },
);

Deno.test("inspect shows a Modality LUT and windows per frame", async () => {
  const r = await runCli(["inspect", join(DIR, "enhanced_per_frame.dcm")]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /modality LUT\s+per frame: slope 0\.5\.\.2 \(4 distinct\), intercept -1024\.\.10\.5 \(4 distinct\) \(HU\)/,
  );
  assert.match(r.stdout, /windows\s+per frame: frame 1 40\/400 \(SOFT\); centers -600\.\.300 \(4 distinct\)/);
});

/** A third party's elementwise-only stage (no `run`) that multiplies by the frame's own RescaleSlope. */
const slopeOnly = defineStage({
  name: "slope-only",
  description: "test: x * RescaleSlope, each frame its own",
  params: Schema.Struct({}),
  accepts: ["stored"],
  produces: "modality",
  elementwise: {
    shader: wgslText(
      "fn slopeOnly(x: f32, c: u32, p: SlopeOnlyParams) -> f32 { return p.s * x; }",
      "slope.wgsl",
    ),
    entry: "slopeOnly",
    fields: ["s"],
    values: (_p, image) =>
      Effect.succeed<KernelValues>(
        image.meta.frameRescale
          ? { values: {}, perFrame: true, notes: { slopeOnly: "per frame" } }
          : { values: { s: image.meta.rescaleSlope } },
      ),
    cpu: ({ s }) => (x) => s * x,
  },
});

Deno.test("a stage with only an elementwise form asking for values per frame: each frame's, fused and not", async () => {
  const registry = makeRegistry([...builtinStages, slopeOnly]);
  const plan = await Effect.runPromise(
    planText("dcmflow: 1\nstages:\n  - use: decode\n  - use: slope-only\n", "p.yaml", { registry }),
  );
  const stored = reference("enhanced_per_frame.npy");
  const slopes = [1, 0.5, 2, 1.25];
  const plane = 24 * 32;
  const want = Float32Array.from(stored.data as Int32Array, (v, i) => v * slopes[Math.floor(i / plane)]);
  const fused = (await Effect.runPromise(processBytes(plan, read("enhanced_per_frame.dcm")))).image;
  assert.equal(maxAbsDiff(fused.data, want), 0);
  assert.deepEqual(fused.notes.slopeOnly, "per frame");
  const decoded = await processed(pipeline(), "enhanced_per_frame.dcm");
  const stage = slopeOnly as AnyImageStage;
  const plain = await Effect.runPromise(runElementwise(stage, stage.elementwise!, decoded, {}));
  assert.equal(maxAbsDiff(plain.data, want), 0);
  assert.deepEqual(plain.notes.slopeOnly, "per frame");
});

Deno.test("the fused chain on values already decoded (floats) with values per frame: each frame's", async () => {
  const { meta } = await decodeDicomAsync(read("enhanced_per_frame.dcm"));
  const stored = reference("enhanced_per_frame.npy");
  const plan = await Effect.runPromise(planText(RESCALE, "p.yaml"));
  const upload = {
    image: { kind: "stored", shape: [4, 1, 24, 32], meta, notes: {} },
    pixels: { type: "f32", data: Float32Array.from(stored.data as Int32Array) },
  } as unknown as Upload;
  const chain = FusedChain.of(plan);
  const ready = chain.resolve(upload);
  assert.ok(ready.ok && "frames" in ready && ready.frames?.length === 4);
  if (!ready.ok) throw new Error("unreachable");
  const image = chain.image(upload, ready);
  assert.equal(maxAbsDiff(image.data, reference("enhanced_per_frame.modality.npy").data as Float32Array), 0);
});
