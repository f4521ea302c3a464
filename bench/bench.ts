/**
 * `deno task bench`: dcmflow against the PyTorch recipe, side by side.
 *
 * 1. Whole process (bench/whole_process.ts): `dcmflow run` vs the recipe as a process on 256 and 1024
 *    synthetic 512² CT slices, alternating, medians and ratios, start-up, marginal cost, peak RSS.
 * 2. In memory, per stage: 64 slices through the seed recipe's stages one by one, and the recipe's own loop.
 * 3. The GPU path's kernels on the adapter at hand, and inference per provider.
 * Prints Markdown tables.
 */
import { NodeServices } from "@effect/platform-node";
import { Effect } from "effect";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { planText, processBytes } from "../mod.ts";
import { imageRun } from "../core/elementwise.ts";
import { encodeNpy } from "../core/npy.ts";
import { runtimeName } from "../core/platform.ts";
import { acquireGpu } from "../core/gpu/device.ts";
import { type RunOptions, runPlan } from "../core/runtime.ts";
import type { Upload } from "../core/stage.ts";
import { decode } from "../plugins/mod.ts";
import { type GpuStageRow, gpuStageTable, gpuStageTimes } from "./gpu_stages.ts";
import { inferenceTimes } from "./infer_bench.ts";
import type { Image } from "../core/tensor.ts";
import { makeCtSlice } from "./synthetic.ts";
import { canCompare, SEED_RECIPE, wholeProcess } from "./whole_process.ts";

const N = 64;
const SIZE = 512;
const REPEATS = 3;

const best = async (fn: () => Promise<void> | void): Promise<number> => {
  let min = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    await fn();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
};

wholeProcess();
// The same slices as archives store CT (JPEG Lossless SV1), when DCMTK and GDCM are installed (the recipe's
// pydicom decodes them with GDCM); the GPU path is measured on the uncompressed ones above.
if (canCompare("jpeg-lossless")) wholeProcess({ syntax: "jpeg-lossless", gpu: false });
else console.log("\n(JPEG lossless comparison skipped: needs dcmtk's dcmcjpeg and python3-gdcm)");

const files = Array.from({ length: N }, (_, i) => makeCtSlice(SIZE, SIZE, i));
const plan = await Effect.runPromise(planText(SEED_RECIPE, "bench.yaml"));

// Per stage: run each stage over all images, feeding the previous stage's outputs.
const rows: Array<[string, number]> = [];
let images: Image[] = [];
const decodeMs = await best(async () => {
  images = [];
  for (const bytes of files) {
    images.push(
      await Effect.runPromise(
        plan.source.stage.run({ path: "x", bytes }, plan.source.params) as Effect.Effect<Image, unknown>,
      ),
    );
  }
});
rows.push(["decode", decodeMs]);
for (const s of plan.stages.slice(0, -1)) {
  let next: Image[] = [];
  const ms = await best(async () => {
    next = [];
    for (const img of images) {
      next.push(await Effect.runPromise(imageRun(s.stage)(img, s.params) as Effect.Effect<Image>));
    }
  });
  rows.push([s.label, ms]);
  images = next;
}
rows.push([
  "write npy (encode only)",
  await best(() => {
    for (const img of images) encodeNpy(img.data, img.shape);
  }),
]);

const memMs = await best(async () => {
  for (const bytes of files) await Effect.runPromise(processBytes(plan, bytes));
});

const dir = mkdtempSync(join(tmpdir(), "dcmflow-bench-"));
files.forEach((b, i) => writeFileSync(join(dir, `slice-${String(i + 1).padStart(3, "0")}.dcm`), b));
const out = join(dir, "out");
const runFiles = (options: Partial<RunOptions>) =>
  best(async () => {
    await Effect.runPromise(
      runPlan(plan, { inputs: [dir], out, ...options }).pipe(Effect.provide(NodeServices.layer)),
    );
  });
const fileMs = await runFiles({ device: "cpu" });

// The GPU path on whatever adapter this machine has (llvmpipe without a GPU).
const gpu = await Effect.runPromise(Effect.result(acquireGpu));
let gpuRows: ReadonlyArray<GpuStageRow> = [];
let inferRows: Array<[string, number | string]> = [];
let gpuFused = NaN;
let gpuUnfused = NaN;
let adapter = "none";
if (gpu._tag === "Success") {
  adapter = gpu.success.adapter;
  const uploads = [];
  for (const bytes of files) {
    uploads.push(
      await Effect.runPromise(decode.prepare!({ path: "x", bytes }, {}) as Effect.Effect<Upload>),
    );
  }
  gpuRows = await gpuStageTimes(gpu.success, uploads, REPEATS);
  inferRows = await inferenceTimes(gpu.success);
  gpu.success.device.destroy();
  gpuFused = await runFiles({ device: "gpu" });
  gpuUnfused = await runFiles({ device: "gpu", gpu: { fuse: false } });
}

let reference: { seconds: number; threads: number; torch: string } | undefined;
try {
  const r = execFileSync("/usr/bin/python3", [
    "bench/reference_recipe.py",
    dir,
    String(navigator.hardwareConcurrency),
  ], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  reference = JSON.parse(r.trim().split("\n").pop()!);
} catch {
  reference = undefined;
}
rmSync(dir, { recursive: true, force: true });

const perImage = (ms: number) => (ms / N).toFixed(2);
const rate = (ms: number) => ((N * 1000) / ms).toFixed(1);
console.log(
  `\n${N} CT slices ${SIZE}x${SIZE} -> 224x224, seed recipe, CPU path, ${runtimeName()}, best of ${REPEATS}\n`,
);
console.log("| step | total ms | ms / slice | slices / s |");
console.log("|---|---:|---:|---:|");
for (const [name, ms] of rows) console.log(`| ${name} | ${ms.toFixed(1)} | ${perImage(ms)} | ${rate(ms)} |`);
console.log(`| **end to end, in memory** | ${memMs.toFixed(1)} | ${perImage(memMs)} | ${rate(memMs)} |`);
console.log(
  `| **end to end, files + ledger (CLI path)** | ${fileMs.toFixed(1)} | ${perImage(fileMs)} | ${
    rate(fileMs)
  } |`,
);
console.log(
  `| **GPU path, fused, files + ledger** (${adapter}) | ${gpuFused.toFixed(1)} | ${perImage(gpuFused)} | ${
    rate(gpuFused)
  } |`,
);
console.log(
  `| GPU path, unfused, files + ledger (${adapter}) | ${gpuUnfused.toFixed(1)} | ${perImage(gpuUnfused)} | ${
    rate(gpuUnfused)
  } |`,
);
if (reference) {
  const ms = reference.seconds * 1000;
  console.log(
    `| PyTorch recipe (pydicom + torchvision ${reference.torch}, ${reference.threads} threads) | ${
      ms.toFixed(1)
    } | ${perImage(ms)} | ${rate(ms)} |`,
  );
} else {
  console.log("\n(PyTorch reference skipped: /usr/bin/python3 with pydicom + torch + torchvision not found)");
}

if (gpuRows.length > 0) {
  console.log(`\nGPU kernels, one batch of ${N} slices, ${adapter}, best of ${REPEATS}\n`);
  console.log(gpuStageTable(gpuRows, N));
}

if (inferRows.length === 0) inferRows = await inferenceTimes(undefined);
console.log(
  "\nInference, demo model (models/nodule_classifier.onnx, [8, 1, 64, 64] per call), 64 images, best of 3\n",
);
console.log("| provider | ms / image |");
console.log("|---|---:|");
for (const [name, ms] of inferRows) {
  console.log(`| ${name} | ${typeof ms === "number" ? ms.toFixed(3) : ms} |`);
}
