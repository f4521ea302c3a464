// `normalize` with mode: minmax: the CPU form against NumPy (tests/fixtures/normalize, made by
// make_normalize_fixtures.py), the GPU kernel against the CPU (<= 1e-6), the plan-time checks, and the GPU
// path of a whole run using the kernel form (not a CPU fallback).
import assert from "node:assert/strict";
import { NodeServices } from "@effect/platform-node";
import { Effect, Schema } from "effect";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { planText } from "../mod.ts";
import type { ImageMeta } from "../dicom/mod.ts";
import { fusedPlan } from "../core/cpu/fused.ts";
import { BufferPool } from "../core/gpu/pool.ts";
import { readBack, storageFrom } from "../core/gpu/kernels.ts";
import { runPlan } from "../core/runtime.ts";
import type { Image, Shape } from "../core/tensor.ts";
import { minmaxOptions, normalize, type NormalizeParams } from "../plugins/normalize/mod.ts";
import { minmaxCpu, percentileSorted } from "../plugins/normalize/minmax.ts";
import { minmaxBatch } from "../plugins/normalize/minmax_gpu.ts";
import { gpuTest, maxAbsDiff, readJson, readNpy, tempDir } from "./helpers.ts";

const DIR = "tests/fixtures/normalize";

interface Case {
  readonly name: string;
  readonly input: string;
  readonly expected: string;
  readonly with: Record<string, unknown>;
}

const cases: ReadonlyArray<Case> = readJson(join(DIR, "cases.json")).cases;
const decode = Schema.decodeUnknownSync(normalize.params as Schema.Decoder<NormalizeParams>);

const imageOf = (data: Float32Array, shape: Shape): Image => ({
  kind: "display",
  shape,
  data,
  meta: {} as ImageMeta,
  notes: {},
});

const load = (file: string) => {
  const { shape, data } = readNpy(join(DIR, file));
  return { shape, data: new Float32Array(data) };
};

Deno.test("minmax on the CPU equals NumPy for per image/frame/channel/plane, constant images, clip percentiles", async () => {
  assert.ok(cases.length >= 10);
  for (const c of cases) {
    const p = decode(c.with);
    const x = load(c.input);
    const want = readNpy(join(DIR, c.expected));
    const out = await Effect.runPromise(normalize.run!(imageOf(x.data, x.shape), p));
    assert.deepEqual(out.shape, want.shape, c.name);
    assert.equal(out.kind, "features");
    assert.ok(out.data.every(Number.isFinite), `${c.name}: non-finite output`);
    const d = maxAbsDiff(out.data, want.data);
    assert.ok(d <= 1e-6, `${c.name}: max diff ${d}`);
  }
  // The constant image gives lo everywhere (never NaN).
  const constant = cases.find((c) => c.name === "constant")!;
  const y = minmaxCpu(load(constant.input).data, [1, 1, 4, 6], minmaxOptions(decode(constant.with)));
  assert.ok(y.every((v) => v === -1));
});

Deno.test("percentiles follow numpy.percentile's linear method, including the ends and t >= 0.5", () => {
  const s = [1, 2, 4, 8, 16];
  // h = 4 * p / 100; values checked by hand: p = 0 -> 1, 100 -> 16, 50 -> 4, 62.5 -> 4 + 0.5 * 4, 90 -> 8 + .6 * 8
  assert.equal(percentileSorted(s, 0), 1);
  assert.equal(percentileSorted(s, 100), 16);
  assert.equal(percentileSorted(s, 50), 4);
  assert.equal(percentileSorted(s, 62.5), 6);
  assert.ok(Math.abs(percentileSorted(s, 90) - 12.8) < 1e-12);
  assert.equal(percentileSorted([5], 30), 5);
});

Deno.test("normalize refuses bad parameter combinations at plan time, with what to do", async () => {
  const refuse = async (withBlock: string) => {
    const yaml = `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: normalize
    with: ${withBlock}
`;
    const r = await Effect.runPromise(Effect.flip(planText(yaml, "p.yaml")));
    assert.equal(r.code, "PLAN_MISMATCH", withBlock);
    assert.equal(r.location?.line, 5, withBlock);
    return r.message;
  };
  assert.match(await refuse("{ mode: minmax, mean: [0.5], std: [0.5] }"), /mean\/std are for mode: standard/);
  assert.match(await refuse("{ per: frame, mean: [0.5], std: [0.5] }"), /per applies to mode: minmax only/);
  assert.match(await refuse("{ range: [0, 1], clip: [1, 99] }"), /range, clip apply to mode: minmax only/);
  assert.match(await refuse("{ mode: standard }"), /mode: standard needs mean and std/);
  assert.match(await refuse("{ std: [0.5] }"), /needs mean and std/);
  assert.match(
    await refuse("{ mode: minmax, range: [1, 0] }"),
    /range: \[1, 0\] must be \[lo, hi\] with lo < hi/,
  );
  assert.match(await refuse("{ mode: minmax, clip: [5, 101] }"), /0 <= p_lo < p_hi <= 100/);
  assert.match(await refuse("{ mode: minmax, clip: [50, 50] }"), /0 <= p_lo < p_hi <= 100/);
  const ok = await Effect.runPromise(planText(
    "dcmflow: 1\nstages:\n  - use: decode\n  - use: rescale\n  - use: normalize\n    with: { mode: minmax, per: channel, clip: [1, 99], channels: 3 }\n",
    "p.yaml",
  ));
  assert.equal(ok.stages[1].output.kind, "features");
  assert.equal(ok.stages[1].output.channels, 3);
});

Deno.test("minmax is not elementwise: never fused on the CPU (nor hoisted over resize), the kernel on the GPU", async () => {
  const p = decode({ mode: "minmax" });
  const ew = normalize.elementwise!;
  assert.equal(ew.applies!(p), false);
  assert.equal(ew.applies!(decode({ mean: [0.5], std: [0.5] })), true);
  const r = await Effect.runPromise(Effect.result(ew.values(p, imageOf(new Float32Array(4), [1, 1, 2, 2]))));
  assert.equal((r as { failure: { _tag: string } }).failure._tag, "CpuFallback");
  const gpu = {} as Parameters<NonNullable<typeof normalize.gpu>["run"]>[1]["gpu"];
  assert.equal(normalize.gpu!.enabled!(p, gpu), true);
  assert.equal(normalize.gpu!.enabled!(decode({ mean: [0.5], std: [0.5] }), gpu), false);
  // The fused CPU chain: rescale + window, then resize; mean/std would be hoisted over the resize, min-max not.
  const chain = async (normalizeWith: string) => {
    const plan = await Effect.runPromise(planText(
      `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 40, width: 400 }
  - use: resize
    with: { width: 32, height: 32 }
  - use: normalize
    with: ${normalizeWith}
`,
      "p.yaml",
    ));
    return fusedPlan(plan).steps.map((s) => s.placed.label);
  };
  assert.deepEqual(await chain("{ mean: [0.5], std: [0.5] }"), ["rescale", "window", "normalize"]);
  assert.deepEqual(await chain("{ mode: minmax }"), ["rescale", "window"]);
});

/** Runs the min-max kernel on a batch of images of one shape; returns each image's output. */
const runGpu = (
  gpu: Parameters<Parameters<typeof gpuTest>[1]>[0],
  images: ReadonlyArray<Float32Array>,
  shape: Shape,
  p: NormalizeParams,
) =>
  Effect.runPromise(Effect.gen(function* () {
    const all = new Float32Array(images.reduce((n, x) => n + x.length, 0));
    images.forEach((x, i) => all.set(x, i * x.length));
    const pool = new BufferPool(gpu);
    const buffer = yield* storageFrom(gpu, all, "minmax test input");
    const out = yield* minmaxBatch(
      { gpu, pool, buffer, shape, count: images.length },
      minmaxOptions(p),
      p.channels ?? shape[1],
    );
    const len = out.shape.reduce((a, b) => a * b, 1);
    const back = yield* readBack(gpu, out.buffer, len * images.length * 4);
    pool.clear();
    return images.map((_, i) => back.subarray(i * len, (i + 1) * len));
  }));

gpuTest(
  "minmax kernel equals the CPU (<= 1e-6) on every fixture case, batched with other images",
  async (gpu) => {
    for (const c of cases) {
      const p = decode(c.with);
      const x = load(c.input);
      // Three images per batch, each with its own values: groups must not mix across images.
      const images = [x.data, x.data.map((v) => v * -2 + 3), x.data.map((v, i) => v + (i % 7))];
      const got = await runGpu(gpu, images, x.shape, p);
      for (const [i, image] of images.entries()) {
        const want = minmaxCpu(image, x.shape, minmaxOptions(p), p.channels ?? x.shape[1]);
        const d = maxAbsDiff(got[i], want);
        assert.ok(d <= 1e-6, `${c.name} image ${i}: max diff ${d}`);
      }
    }
  },
);

gpuTest(
  "minmax kernel: large groups (radix select over 262144 values) and many groups (2D dispatch)",
  async (gpu) => {
    let seed = 11;
    const rand = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32;
    const big = new Float32Array(512 * 512).map(() =>
      Math.round((rand() - 0.5) * 4000) + (rand() < 0.001 ? 1e5 : 0)
    );
    for (const clip of [[0.5, 99.5], [1, 99], [0, 100]] as const) {
      const p = decode({ mode: "minmax", clip, range: [-1, 1] });
      const [got] = await runGpu(gpu, [big], [1, 1, 512, 512], p);
      const d = maxAbsDiff(got, minmaxCpu(big, [1, 1, 512, 512], minmaxOptions(p)));
      assert.ok(d <= 1e-6, `clip ${clip}: ${d}`);
    }
    // More groups than one dispatch dimension holds: a simulated device with a small
    // maxComputeWorkgroupsPerDimension makes the dispatch 2D (x 100, y 3) for 250 groups.
    const l = gpu.limits;
    const limits = {
      maxBufferSize: l.maxBufferSize,
      maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
      maxComputeWorkgroupsPerDimension: 100,
    } as GPUSupportedLimits;
    const small = { ...gpu, limits };
    const many = new Float32Array(250 * 6).map(() => rand());
    for (
      const p of [
        decode({ mode: "minmax", per: "frame" }),
        decode({ mode: "minmax", per: "plane", clip: [10, 90] }),
      ]
    ) {
      const [got] = await runGpu(small, [many], [125, 2, 2, 3], p);
      const d = maxAbsDiff(got, minmaxCpu(many, [125, 2, 2, 3], minmaxOptions(p)));
      assert.ok(d <= 1e-6, `many groups: ${d}`);
    }
  },
);

gpuTest("a run with normalize minmax on the GPU uses the kernel form and equals the CPU run", async () => {
  const yaml = `dcmflow: 1
name: minmax
stages:
  - use: decode
  - use: rescale
  - use: resize
    with: { width: 64, height: 48 }
  - use: normalize
    with: { mode: minmax, clip: [1, 99], range: [-1, 1] }
  - use: write
    with: { format: npy }
  - use: write
    id: meta
    with: { format: json }
`;
  const plan = await Effect.runPromise(planText(yaml, "minmax.yaml"));
  const run = (device: "cpu" | "gpu") => {
    const out = join(tempDir(), "out");
    return Effect.runPromise(
      runPlan(plan, { inputs: ["samples/ct-study"], out, device }).pipe(Effect.provide(NodeServices.layer)),
    ).then((ledger) => ({ ledger, out }));
  };
  const cpu = await run("cpu");
  const gpu = await run("gpu");
  assert.equal(gpu.ledger.device.kind, "gpu");
  assert.equal(gpu.ledger.summary.ok, 6);
  assert.equal(
    gpu.ledger.device.cpuFallbacks,
    undefined,
    "minmax must run as the GPU kernel, not a fallback",
  );
  for (const e of cpu.ledger.inputs) {
    const rel = e.outputs[0].slice(cpu.out.length + 1);
    const a = readNpy(join(cpu.out, rel));
    const b = readNpy(join(gpu.out, rel));
    assert.deepEqual(a.shape, [1, 1, 48, 64]);
    assert.ok(Math.min(...a.data) === -1 && Math.max(...a.data) === 1);
    const d = maxAbsDiff(a.data, b.data);
    assert.ok(d <= 1e-6, `${rel}: ${d}`);
    const json = rel.replace(/\.npy$/, ".json");
    const notes = (out: string) => JSON.parse(readFileSync(join(out, json), "utf8")).stages.normalize;
    assert.deepEqual(notes(gpu.out), notes(cpu.out));
    assert.deepEqual(notes(cpu.out), {
      mode: "minmax",
      per: "image",
      range: [-1, 1],
      clip: [1, 99],
      channels: 1,
    });
  }
});
