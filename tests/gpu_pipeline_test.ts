// Whole pipelines on the GPU path vs the CPU path: seed recipe, fused vs unfused, third-party WGSL,
// fallbacks, batching under tight limits, device loss.
import assert from "node:assert/strict";
import { NodeServices } from "@effect/platform-node";
import { Effect, FileSystem } from "effect";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { loadPipeline } from "../mod.ts";
import { DEFAULT_GPU_OPTIONS, prepareInput, runInputsGpu, runPreparedGpu } from "../core/gpu/executor.ts";
import { BufferPool } from "../core/gpu/pool.ts";
import type { Plan } from "../core/planner.ts";
import { type Ledger, type RunOptions, runPlan } from "../core/runtime.ts";
import { gpuTest, maxAbsDiff, readNpy, tempDir } from "./helpers.ts";

const provide = <A, E>(e: Effect.Effect<A, E, unknown>) =>
  Effect.runPromise(e.pipe(Effect.provide(NodeServices.layer)) as Effect.Effect<A, E>);

const load = (file: string, overrides: string[] = []) => provide(loadPipeline(file, { overrides }));

const run = (plan: Plan, inputs: string[], options: Partial<RunOptions> = {}) => {
  const out = join(tempDir(), "out");
  return provide(runPlan(plan, { inputs, out, ...options })).then((ledger) => ({ ledger, out }));
};

/** Compares every .npy of two output folders; returns the largest difference. */
const compareOutputs = (a: string, b: string): number => {
  const files = readdirSync(a, { recursive: true }).map(String).filter((f) => f.endsWith(".npy")).sort();
  assert.ok(files.length > 0, "no .npy outputs");
  let worst = 0;
  for (const f of files) {
    const x = readNpy(join(a, f));
    const y = readNpy(join(b, f));
    assert.deepEqual(x.shape, y.shape, f);
    worst = Math.max(worst, maxAbsDiff(x.data, y.data));
  }
  return worst;
};

/** A folder with the sample study, the e2e slices (another shape), an RGB file and a broken file. */
const mixedInputs = () => {
  const dir = tempDir();
  mkdirSync(join(dir, "study"));
  for (const f of readdirSync("samples/ct-study")) {
    copyFileSync(join("samples/ct-study", f), join(dir, "study", f));
  }
  for (const f of ["ct-signed16.dcm", "ct-unsigned12.dcm", "ct-signed16-slope.dcm"]) {
    copyFileSync(join("tests/fixtures/e2e", f), join(dir, f));
  }
  copyFileSync("tests/fixtures/dicom/rgb_planar0.dcm", join(dir, "rgb.dcm"));
  copyFileSync("tests/fixtures/dicom/not_dicom.dcm", join(dir, "broken.dcm"));
  return dir;
};

const okCount = (l: Ledger) => l.inputs.filter((e) => e.status === "ok").length;

gpuTest(
  "seed recipe: GPU path equals the CPU path (<= 1e-5) and PyTorch (<= 1e-4); fused equals unfused",
  async () => {
    const plan = await load("pipelines/seed-recipe.yaml");
    const inputs = [mixedInputs()];
    const cpu = await run(plan, inputs, { device: "cpu" });
    const gpu = await run(plan, inputs, { device: "gpu" });
    const unfused = await run(plan, inputs, { device: "gpu", gpu: { fuse: false } });
    assert.equal(gpu.ledger.device.kind, "gpu");
    assert.equal(cpu.ledger.device.kind, "cpu");
    for (const l of [cpu.ledger, gpu.ledger, unfused.ledger]) {
      assert.equal(l.summary.total, 11);
      assert.equal(okCount(l), 10);
      const broken = l.inputs.find((e) => e.input.endsWith("broken.dcm"));
      assert.equal(broken?.error?.code, "NOT_DICOM");
    }
    const d = compareOutputs(cpu.out, gpu.out);
    assert.ok(d <= 1e-5, `GPU vs CPU: ${d}`);
    assert.equal(compareOutputs(gpu.out, unfused.out), 0, "fused and unfused must be identical");
    for (const name of ["ct-signed16", "ct-unsigned12", "ct-signed16-slope"]) {
      const got = readNpy(join(gpu.out, `${name}.npy`));
      const want = readNpy(`tests/fixtures/e2e/${name}.expected.npy`);
      assert.ok(maxAbsDiff(got.data, want.data) <= 1e-4, name);
    }
    // Notes recorded on the GPU path match the CPU path's (what write json shows).
    const meta = (out: string) => JSON.parse(Deno.readTextFileSync(join(out, "study/slice-002.json")));
    assert.deepEqual(meta(gpu.out).stages, meta(cpu.out).stages);
  },
);

gpuTest("lung preset with RGB replication, and from: dicom windows, on the GPU equal the CPU", async () => {
  for (
    const [file, overrides] of [["pipelines/ct-lung-rgb.yaml", []], ["pipelines/dicom-window.yaml", [
      "stages.window.which=1",
    ]]] as const
  ) {
    const plan = await load(file, [...overrides]);
    const cpu = await run(plan, ["samples/ct-study"], { device: "cpu" });
    const gpu = await run(plan, ["samples/ct-study"], { device: "gpu" });
    assert.equal(okCount(gpu.ledger), 6, file);
    const pngs = (out: string) => readdirSync(out).filter((f) => f.endsWith(".png")).length;
    assert.equal(pngs(gpu.out), pngs(cpu.out));
    if (file.endsWith("rgb.yaml")) assert.ok(compareOutputs(cpu.out, gpu.out) <= 1e-5);
  }
});

gpuTest("a third-party WGSL stage runs fused on the GPU and equals its CPU form", async () => {
  const yaml = (await Deno.readTextFile("tests/fixtures/plugins/gamma.yaml"))
    .replace("./gamma.ts", "./gamma_gpu.ts").replace("use: gamma\n", "use: gamma-gpu\n");
  const file = "tests/fixtures/plugins/gamma-gpu.generated.yaml";
  await Deno.writeTextFile(file, yaml);
  try {
    const plan = await load(file);
    const cpu = await run(plan, ["samples/ct-study"], { device: "cpu" });
    const gpu = await run(plan, ["samples/ct-study"], { device: "gpu" });
    assert.equal(okCount(gpu.ledger), 6);
    assert.ok(compareOutputs(cpu.out, gpu.out) <= 1e-5);
  } finally {
    await Deno.remove(file);
  }
});

gpuTest(
  "a WGSL compile error names the plugin, the stage and the WGSL line, before any input runs",
  async () => {
    const yaml = `dcmflow: 1
plugins: [./broken_wgsl.ts]
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { preset: brain }
  - use: broken
  - use: write
    with: { format: npy }
`;
    const file = "tests/fixtures/plugins/broken.generated.yaml";
    await Deno.writeTextFile(file, yaml);
    try {
      const plan = await load(file);
      const out = join(tempDir(), "never");
      const r = await provide(
        Effect.flip(runPlan(plan, { inputs: ["samples/ct-study"], out, device: "gpu" })),
      );
      assert.equal(r.code, "WGSL_COMPILE");
      assert.match(
        r.message,
        /broken_wgsl\.ts \(WGSL\) \(stage "broken" of \.\/broken_wgsl\.ts\):3:\d+: .*undefined_scale/,
      );
      assert.doesNotMatch(r.message, /┌─|Shader ''/, "no raw driver dump");
      // The CPU path is unaffected.
      const cpu = await run(plan, ["samples/ct-study"], { device: "cpu" });
      assert.equal(okCount(cpu.ledger), 6);
    } finally {
      await Deno.remove(file);
    }
  },
);

gpuTest(
  "images a GPU form cannot handle (Modality LUT Sequence) run on the CPU, noted in the ledger",
  async () => {
    const plan = await load("pipelines/seed-recipe.yaml");
    const dir = tempDir();
    copyFileSync("tests/fixtures/dicom/modality_lut.dcm", join(dir, "lut.dcm"));
    copyFileSync("samples/ct-study/slice-001.dcm", join(dir, "slice.dcm"));
    const gpu = await run(plan, [dir], { device: "gpu" });
    const cpu = await run(plan, [dir], { device: "cpu" });
    const lut = gpu.ledger.inputs.find((e) => e.input.endsWith("lut.dcm"))!;
    assert.equal(lut.status, "ok");
    assert.match(lut.fallback ?? "", /rescale: Modality LUT Sequence/);
    assert.equal(gpu.ledger.device.cpuFallbacks, 1);
    assert.ok(compareOutputs(cpu.out, gpu.out) <= 1e-5);
  },
);

gpuTest(
  "batches follow the device limits: a tiny memory budget gives one image per batch, same results",
  async () => {
    const plan = await load("pipelines/seed-recipe.yaml");
    const normal = await run(plan, ["samples/ct-study"], { device: "gpu" });
    const tiny = await run(plan, ["samples/ct-study"], {
      device: "gpu",
      gpu: { memoryBudget: 1024, maxBatch: 32 },
    });
    const two = await run(plan, ["samples/ct-study"], { device: "gpu", gpu: { maxBatch: 4 } });
    assert.equal(okCount(tiny.ledger), 6);
    assert.equal(compareOutputs(normal.out, tiny.out), 0);
    assert.equal(compareOutputs(normal.out, two.out), 0);
  },
);

gpuTest(
  "device loss: every input of the lost batches is handed to the CPU path, none is lost",
  async (gpu) => {
    const plan = await load("pipelines/seed-recipe.yaml");
    const pool = new BufferPool(gpu);
    gpu.device.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const out = join(tempDir(), "out");
    const inputs = readdirSync("samples/ct-study").sort().map((f) => ({
      path: join("samples/ct-study", f),
      outputBase: f.replace(/\.dcm$/, ""),
    }));
    const r = await provide(Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem;
      return yield* runInputsGpu(plan, gpu, pool, inputs, out, fs, DEFAULT_GPU_OPTIONS);
    }));
    assert.ok(r.deviceLost, "device loss reported");
    assert.equal(r.fallback.length, 6);
    assert.equal(r.entries.length, 0);
  },
);

gpuTest(
  "raw stored words are unpacked on the GPU exactly as the CPU decoder does, for every native fixture",
  async () => {
    const { readRawPixels } = await import("../dicom/mod.ts");
    const dir = tempDir();
    let raw = 0;
    for (const f of readdirSync("tests/fixtures/dicom").filter((f) => f.endsWith(".dcm")).sort()) {
      const bytes = Deno.readFileSync(join("tests/fixtures/dicom", f));
      let r;
      try {
        r = readRawPixels(bytes);
      } catch {
        continue; // not decodable at all: covered by the decode tests
      }
      if (!r) continue;
      raw++;
      copyFileSync(join("tests/fixtures/dicom", f), join(dir, f));
    }
    assert.ok(raw >= 10, `only ${raw} native fixtures found`);
    const file = join(tempDir(), "decode-only.yaml");
    Deno.writeTextFileSync(
      file,
      "dcmflow: 1\nstages:\n  - use: decode\n  - use: write\n    with: { format: npy }\n",
    );
    const plan = await load(file);
    const cpu = await run(plan, [dir], { device: "cpu" });
    const gpu = await run(plan, [dir], { device: "gpu" });
    assert.equal(okCount(gpu.ledger), raw);
    assert.equal(okCount(cpu.ledger), raw);
    assert.ok(gpu.ledger.inputs.every((e) => !e.fallback));
    assert.equal(compareOutputs(cpu.out, gpu.out), 0, "GPU unpacking must be exact");
  },
);

gpuTest(
  "every decodable fixture (compressed ones decode on the CPU) gives the same result on the GPU path",
  async () => {
    const dir = tempDir();
    for (const f of readdirSync("tests/fixtures/dicom").filter((f) => f.endsWith(".dcm"))) {
      copyFileSync(join("tests/fixtures/dicom", f), join(dir, f));
    }
    const file = join(tempDir(), "fixtures.yaml");
    Deno.writeTextFileSync(
      file,
      `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 100, width: 300, function: linear_exact }
  - use: resize
    with: { width: 20, height: 16 }
  - use: write
    with: { format: npy }
`,
    );
    const plan = await load(file);
    const cpu = await run(plan, [dir], { device: "cpu" });
    const gpu = await run(plan, [dir], { device: "gpu" });
    assert.ok(okCount(cpu.ledger) >= 60, `only ${okCount(cpu.ledger)} fixtures decoded`);
    const status = (l: Ledger) => l.inputs.map((e) => `${e.input}:${e.status}:${e.error?.code ?? ""}`);
    assert.deepEqual(
      status(gpu.ledger),
      status(cpu.ledger),
      "same inputs succeed and fail with the same codes",
    );
    const d = compareOutputs(cpu.out, gpu.out);
    assert.ok(d <= 1e-5, `GPU vs CPU over ${okCount(cpu.ledger)} fixtures: ${d}`);
  },
);

gpuTest("a batch that runs out of GPU memory is split in half until it fits, never failed", async (gpu) => {
  const plan = await load("pipelines/seed-recipe.yaml");
  const inputs = readdirSync("samples/ct-study").sort().map((f) => ({
    path: join("samples/ct-study", f),
    outputBase: f.replace(/\.dcm$/, ""),
  }));
  // Simulate a device with little memory: allocations above 300 kB report out-of-memory.
  const device = gpu.device;
  const scopes: string[] = [];
  let lastSize = 0;
  let refused = 0;
  const push = device.pushErrorScope.bind(device);
  const pop = device.popErrorScope.bind(device);
  const create = device.createBuffer.bind(device);
  Object.assign(device, {
    pushErrorScope: (filter: GPUErrorFilter) => {
      scopes.push(filter);
      push(filter);
    },
    createBuffer: (d: GPUBufferDescriptor) => {
      lastSize = d.size;
      return create(d);
    },
    popErrorScope: async () => {
      const filter = scopes.pop();
      const real = await pop();
      if (filter === "out-of-memory" && lastSize > 300_000) {
        refused++;
        return new GPUOutOfMemoryError(`simulated: ${lastSize} bytes`);
      }
      return real;
    },
  });
  const out = join(tempDir(), "out");
  const r = await provide(Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    return yield* runInputsGpu(plan, gpu, new BufferPool(gpu), inputs, out, fs, DEFAULT_GPU_OPTIONS);
  }));
  assert.ok(refused > 0, "the simulated limit was hit");
  assert.equal(r.fallback.length, 0, "nothing was sent to the CPU: single images fit");
  assert.equal(r.entries.filter((e) => e.status === "ok").length, 6);
  const cpu = await run(plan, ["samples/ct-study"], { device: "cpu" });
  assert.ok(compareOutputs(cpu.out, out) <= 1e-5);
});

gpuTest(
  "inputs prepared elsewhere (as workers do) give the same outputs and ledger, with one or three batches in flight",
  async (gpu) => {
    const plan = await load("pipelines/seed-recipe.yaml");
    const dir = mixedInputs();
    const files = readdirSync(dir, { recursive: true }).map(String).filter((f) => f.endsWith(".dcm")).sort();
    const inputs = files.map((f) => ({ path: join(dir, f), outputBase: f.replace(/\.dcm$/, "") }));
    const pool = new BufferPool(gpu);
    // Batches of 2: several batches, so that one is prepared and queued while another runs.
    const options = { ...DEFAULT_GPU_OPTIONS, maxBatch: 2 };
    const outs = {
      streamed: join(tempDir(), "out"),
      prepared: join(tempDir(), "out"),
      deep: join(tempDir(), "out"),
    };
    const r = await provide(Effect.gen(function* () {
      const fs = yield* FileSystem.FileSystem;
      const streamed = yield* runInputsGpu(plan, gpu, pool, inputs, outs.streamed, fs, options);
      const prepared = yield* Effect.forEach(inputs, (input) => prepareInput(plan, input, fs));
      const fromPrepared = yield* runPreparedGpu(plan, gpu, pool, prepared, outs.prepared, options);
      const deep = yield* runInputsGpu(plan, gpu, pool, inputs, outs.deep, fs, { ...options, inFlight: 3 });
      return { streamed, fromPrepared, deep };
    }));
    const summary = (x: typeof r.streamed) =>
      x.entries.map((e) => `${e.input}:${e.status}:${e.error?.code ?? ""}`);
    assert.equal(r.streamed.entries.length + r.streamed.fallback.length, inputs.length);
    assert.deepEqual(
      r.streamed.entries.map((e) => e.input),
      inputs.map((i) => i.path).filter((p) => r.streamed.entries.some((e) => e.input === p)),
      "entries come back in input order",
    );
    assert.deepEqual(summary(r.fromPrepared), summary(r.streamed));
    assert.deepEqual(summary(r.deep), summary(r.streamed));
    assert.equal(compareOutputs(outs.streamed, outs.prepared), 0);
    assert.equal(compareOutputs(outs.streamed, outs.deep), 0);
  },
);
