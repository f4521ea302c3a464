// Every GPU kernel against its CPU reference on the adapter at hand (llvmpipe in CI): exact for integer
// unpacking, <= 1e-5 for float stages.
import assert from "node:assert/strict";
import * as Effect from "effect/Effect";
import { resizePlanes } from "../plugins/resize/cpu.ts";
import { imageLength } from "../core/gpu/batch.ts";
import type { GpuShape } from "../core/gpu/device.ts";
import { type FusedStep, type ImageValues, type LoadSpec, runFused } from "../core/gpu/fuse.ts";
import { compiledPipelines, readBack, storageFrom } from "../core/gpu/kernels.ts";
import { BufferPool } from "../core/gpu/pool.ts";
import type { Elementwise } from "../core/stage.ts";
import type { Shape } from "../core/tensor.ts";
import { normalize, rescale, resize, window } from "../plugins/mod.ts";
import { normalizeCpu } from "../plugins/normalize/mod.ts";
import { applyWindow } from "../plugins/window/voi.ts";
import { resizeBatch } from "../plugins/resize/gpu.ts";
import { gpuTest, maxAbsDiff } from "./helpers.ts";

const step = (stage: { name: string; elementwise?: unknown }, params: unknown = {}): FusedStep => ({
  label: stage.name,
  gpu: stage.elementwise as Elementwise<unknown>,
  params,
  origin: "built-in",
});

/** Runs one fused kernel over `count` images of `shape` stored in `words`; `values[i]`: image i's fields. */
const runKernel = (
  gpu: GpuShape,
  load: LoadSpec,
  steps: ReadonlyArray<FusedStep>,
  words: Uint32Array,
  shape: Shape,
  count: number,
  values: ReadonlyArray<ImageValues> = Array.from({ length: count }, () => steps.map(() => ({}))),
) =>
  Effect.runPromise(Effect.gen(function* () {
    const src = yield* storageFrom(gpu, words, "src");
    const pool = new BufferPool(gpu);
    const input = { buffer: src, load, words: words.length / count, shape, count };
    const out = yield* runFused(gpu, pool, input, steps, values);
    return yield* readBack(gpu, out.buffer, count * imageLength(out.shape) * 4);
  }));

const F32: LoadSpec = { kind: "f32" };
const f32Words = (x: Float32Array) => new Uint32Array(x.buffer, x.byteOffset, x.length);

const rng = (seed: number) => () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};

/** CPU reference of the unpack: swap within 16-bit words, shift, mask, sign-extend. */
const unpackRef = (word: number, bits: number, shift: number, signed: boolean): number => {
  const m = Number((BigInt(word >>> 0) >> BigInt(shift)) & ((1n << BigInt(bits)) - 1n));
  return signed && m >= 2 ** (bits - 1) ? m - 2 ** bits : m;
};

gpuTest(
  "unpack: 8/16/32-bit, masks with garbage high bits, sign extension, byte swap, interleaved RGB (exact)",
  async (gpu) => {
    const next = rng(7);
    const cases = [
      { bits: 16, stored: 12, shift: 0, signed: true, swap: false, samples: 1, planar: 1 },
      { bits: 16, stored: 12, shift: 0, signed: false, swap: false, samples: 1, planar: 1 },
      { bits: 16, stored: 10, shift: 2, signed: true, swap: false, samples: 1, planar: 1 },
      { bits: 16, stored: 16, shift: 0, signed: true, swap: true, samples: 1, planar: 1 },
      { bits: 8, stored: 8, shift: 0, signed: false, swap: false, samples: 3, planar: 0 },
      { bits: 8, stored: 7, shift: 0, signed: true, swap: true, samples: 1, planar: 1 },
      { bits: 32, stored: 24, shift: 0, signed: true, swap: false, samples: 1, planar: 1 },
      { bits: 32, stored: 32, shift: 0, signed: true, swap: true, samples: 1, planar: 1 },
      { bits: 32, stored: 32, shift: 0, signed: false, swap: false, samples: 1, planar: 1 },
    ] as const;
    // 5 x 7 planes run one value per invocation, 4 x 6 planes four (vector loads of the words).
    for (const c of cases) {
      for (const [rows, cols] of [[5, 7], [4, 6]]) {
        const [frames, count] = [2, 3];
        const n = frames * c.samples * rows * cols; // samples per image
        const bytesPer = c.bits / 8;
        const wordsPer = Math.ceil((n * bytesPer) / 4);
        const words = new Uint32Array(wordsPer * count);
        const bytes = new Uint8Array(words.buffer);
        for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
        const load: LoadSpec = {
          kind: "raw",
          bitsAllocated: c.bits,
          bitsStored: c.stored,
          shift: c.shift,
          signed: c.signed,
          byteSwap: c.swap,
          interleaved: c.samples > 1 && c.planar === 0,
        };
        const shape: Shape = [frames, c.samples, rows, cols];
        const got = await runKernel(gpu, load, [], words, shape, count);
        // Reference: read the sample k (raw order) from the bytes, little endian, with swaps as documented.
        const expected = new Float32Array(n * count);
        const view = new DataView(words.buffer);
        for (let b = 0; b < count; b++) {
          for (let f = 0; f < frames; f++) {
            for (let s = 0; s < c.samples; s++) {
              for (let p = 0; p < rows * cols; p++) {
                const k = c.planar === 0 && c.samples > 1
                  ? (f * rows * cols + p) * c.samples + s
                  : (f * c.samples + s) * rows * cols + p;
                const at = b * wordsPer * 4;
                let w: number;
                if (c.bits === 8) w = bytes[at + (c.swap ? k ^ 1 : k)];
                else if (c.bits === 16) {
                  w = view.getUint16(at + k * 2, true);
                  if (c.swap) w = ((w & 0xff) << 8) | (w >> 8);
                } else {
                  w = view.getUint32(at + k * 4, true);
                  if (c.swap) w = (((w & 0x00ff00ff) << 8) | ((w >>> 8) & 0x00ff00ff)) >>> 0;
                }
                expected[b * n + (f * c.samples + s) * rows * cols + p] = unpackRef(
                  w,
                  c.stored,
                  c.shift,
                  c.signed,
                );
              }
            }
          }
        }
        assert.equal(maxAbsDiff(got, expected), 0, `unpack ${JSON.stringify(c)} ${rows}x${cols}`);
      }
    }
  },
);

gpuTest(
  "rescale -> window (linear, linear_exact, sigmoid, inverted) -> normalize: fused kernel vs CPU <= 1e-5",
  async (gpu) => {
    const next = rng(11);
    const steps = [step(rescale), step(window), step(normalize)];
    const fns = ["linear", "linear_exact", "sigmoid"] as const;
    // Modes that differ per image (read at run time), then one mode for the whole batch (a constant).
    const batches = [[0, 1, 2, 0], [0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2]];
    for (const [rows, cols] of [[16, 20], [15, 21]]) {
      for (const modes of batches) {
        const shape: Shape = [1, 1, rows, cols];
        const count = modes.length;
        const n = rows * cols;
        const input = new Float32Array(n * count).map(() => Math.round(next() * 4095));
        const windows = modes.map((mode, b) => ({
          center: 40 + b * 10,
          width: 400 - b * 50,
          mode,
          invert: b === 3,
        }));
        const values = windows.map((w): ImageValues => [
          { slope: 1, intercept: -1024 },
          { center: w.center, width: w.width, ymin: 0, ymax: 1, mode: w.mode, invert: w.invert ? 1 : 0 },
          { mean0: 0.5, mean1: 0, mean2: 0, inv0: 2, inv1: 1, inv2: 1 },
        ]);
        const got = await runKernel(gpu, F32, steps, f32Words(input), shape, count, values);
        for (let b = 0; b < count; b++) {
          const hu = input.slice(b * n, (b + 1) * n).map((v) => v - 1024);
          const w = windows[b];
          const disp = applyWindow(hu, {
            center: w.center,
            width: w.width,
            fn: fns[w.mode],
            range: { ymin: 0, ymax: 1 },
            invert: w.invert,
          });
          const want = normalizeCpu(disp, shape, [0.5], [0.5], 1);
          const d = maxAbsDiff(got.subarray(b * n, (b + 1) * n), want);
          const what = `${rows}x${cols} modes ${modes}, image ${b} (${fns[w.mode]}${
            w.invert ? ", inverted" : ""
          })`;
          assert.ok(d <= 1e-5, `${what}: max diff ${d}`);
        }
      }
    }
  },
);

gpuTest("normalize replicates gray to RGB with per-channel mean/std", async (gpu) => {
  for (const [rows, cols] of [[3, 5], [4, 5]]) {
    const shape: Shape = [2, 1, rows, cols];
    const n = 2 * rows * cols;
    const input = new Float32Array(n).map((_, i) => i / n);
    const steps = [step(normalize, { channels: 3 })];
    const values = [[{
      mean0: 0.485,
      mean1: 0.456,
      mean2: 0.406,
      inv0: 1 / 0.229,
      inv1: 1 / 0.224,
      inv2: 1 / 0.225,
    }]];
    const got = await runKernel(gpu, F32, steps, f32Words(input), shape, 1, values);
    const want = normalizeCpu(input, shape, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 3);
    assert.equal(got.length, 3 * n);
    assert.ok(maxAbsDiff(got, want) <= 1e-6, `${rows}x${cols}`);
  }
});

gpuTest(
  "resize: antialiased / plain bilinear / nearest, down and up, vs the CPU path <= 1e-5",
  async (gpu) => {
    const next = rng(5);
    const pool = new BufferPool(gpu);
    const cases: Array<[number, number, number, number, "bilinear" | "nearest", boolean]> = [
      [64, 48, 24, 20, "bilinear", true],
      [30, 40, 75, 90, "bilinear", true],
      [64, 48, 24, 20, "bilinear", false],
      [17, 23, 50, 64, "bilinear", false],
      [64, 48, 24, 17, "nearest", false],
      [20, 15, 40, 30, "nearest", false],
      [50, 40, 50, 22, "bilinear", true], // only the width changes
    ];
    for (const [rows, cols, outRows, outCols, filter, aa] of cases) {
      const shape: Shape = [2, 3, rows, cols];
      const count = 2;
      const n = 6 * rows * cols;
      const input = new Float32Array(n * count).map(() => next());
      const out = await Effect.runPromise(Effect.gen(function* () {
        const buffer = yield* storageFrom(gpu, input, "in");
        const batch = yield* resizeBatch({ gpu, pool, buffer, shape, count }, outRows, outCols, filter, aa);
        return yield* readBack(gpu, batch.buffer, count * 6 * outRows * outCols * 4);
      }));
      const want = resizePlanes(input, 6 * count, rows, cols, outRows, outCols, filter, aa);
      const d = maxAbsDiff(out, want);
      assert.ok(d <= 1e-5, `${rows}x${cols} -> ${outRows}x${outCols} ${filter} aa=${aa}: ${d}`);
    }
    assert.ok(resize.gpu?.kind === "kernel");
  },
);

gpuTest("compiled pipelines are cached by code, never by per-run values", async (gpu) => {
  const words = f32Words(new Float32Array([1, 2, 3, 4]));
  const shape: Shape = [1, 1, 2, 2];
  await runKernel(gpu, F32, [step(rescale)], words, shape, 1, [[{ slope: 2, intercept: 1 }]]);
  const before = compiledPipelines();
  const got = await runKernel(gpu, F32, [step(rescale)], words, shape, 1, [[{ slope: -1, intercept: 5 }]]);
  assert.equal(compiledPipelines(), before, "same code, other values: no recompilation");
  assert.deepEqual([...got], [4, 3, 2, 1]);
  // A choice field (the VOI function) fixed for the batch is part of the code: a new variant.
  const win = (mode: number) => [{ center: 2, width: 2, ymin: 0, ymax: 1, mode, invert: 0 }];
  await runKernel(gpu, F32, [step(window)], words, shape, 1, [win(0)]);
  const afterLinear = compiledPipelines();
  await runKernel(gpu, F32, [step(window)], words, shape, 1, [win(1)]);
  assert.equal(compiledPipelines(), afterLinear + 1, "another fixed VOI function compiles its own variant");
});

gpuTest(
  "post-processing kernels (softmax, argmax, topk, sigmoid, threshold) vs their CPU references",
  async (gpu) => {
    const next = rng(3);
    const pool = new BufferPool(gpu);
    const { runAxis } = await import("../plugins/postprocess/axis_gpu.ts");
    const { argmaxAxis, softmaxAxis, topkAxis } = await import("../plugins/postprocess/axis.ts");
    const { sigmoid, threshold } = await import("../plugins/mod.ts");
    for (const shape of [[3, 7], [2, 4, 5, 6]] as const) {
      const count = 2;
      const n = shape.reduce((a, b) => a * b, 1);
      const x = new Float32Array(n * count).map(() => (next() - 0.5) * 8);
      x[3] = x[4]; // a tie
      const run = async (entry: "softmax_axis" | "argmax_axis" | "topk_axis", k: number, values: number) =>
        await Effect.runPromise(Effect.gen(function* () {
          const buffer = yield* storageFrom(gpu, x, "x");
          const out = yield* runAxis({ gpu, pool, buffer, shape, count }, entry, k);
          return yield* readBack(gpu, out.buffer, values * 4);
        }));
      const all = [count * shape[0], ...shape.slice(1)];
      assert.ok(
        maxAbsDiff(await run("softmax_axis", 0, n * count), softmaxAxis(x, all)) <= 1e-6,
        `softmax ${shape}`,
      );
      assert.equal(
        maxAbsDiff(await run("argmax_axis", 0, (n / shape[1]) * count), argmaxAxis(x, all)),
        0,
        `argmax ${shape}`,
      );
      if (shape.length === 2) {
        assert.equal(
          maxAbsDiff(await run("topk_axis", 3, count * shape[0] * 6), topkAxis(x, all, 3)),
          0,
          "topk",
        );
      }
    }
    const x = new Float32Array(64).map(() => (next() - 0.5) * 8);
    const sig = await runKernel(gpu, F32, [step(sigmoid)], f32Words(x), [1, 1, 8, 8], 1);
    const dSig = maxAbsDiff(sig, x.map((v) => 1 / (1 + Math.exp(-v))));
    assert.ok(dSig <= 1e-6, `sigmoid: ${dSig}`);
    const mask = await runKernel(gpu, F32, [step(sigmoid), step(threshold)], f32Words(x), [1, 1, 8, 8], 1, [
      [{}, { value: 0.7 }],
    ]);
    assert.equal(
      maxAbsDiff(mask, x.map((v) => (1 / (1 + Math.exp(-v)) >= 0.7 ? 1 : 0))),
      0,
      "sigmoid -> threshold fused",
    );
  },
);
