// Every GPU kernel against its CPU reference on the adapter at hand (llvmpipe in CI): exact for integer
// unpacking, <= 1e-5 for float stages.
import assert from "node:assert/strict";
import { Effect } from "effect";
import { resizePlanes } from "../plugins/resize/cpu.ts";
import type { GpuShape } from "../core/gpu/device.ts";
import { dimsWords, fusedProgram, type FusedStep, type LoadMode, paramLayout } from "../core/gpu/fuse.ts";
import {
  compiledPipelines,
  dispatch,
  dispatchSize,
  readBack,
  storageFrom,
  uniformFrom,
} from "../core/gpu/kernels.ts";
import { BufferPool } from "../core/gpu/pool.ts";
import type { Elementwise } from "../core/stage.ts";
import type { Shape } from "../core/tensor.ts";
import { normalize, rescale, resize, window } from "../plugins/mod.ts";
import { normalizeCpu } from "../plugins/normalize/mod.ts";
import { applyWindow } from "../plugins/window/voi.ts";
import { resizeBatch } from "../plugins/resize/gpu.ts";
import { gpuTest, maxAbsDiff } from "./helpers.ts";

const ew = (stage: { elementwise?: unknown }) => stage.elementwise as Elementwise<unknown>;

/** Runs one fused program over `count` images of `shape`; `params` holds `stride` floats per image. */
const runFused = async (
  gpu: GpuShape,
  load: LoadMode,
  steps: FusedStep[],
  words: Uint32Array,
  shape: Shape,
  count: number,
  params: Float32Array,
  channelsOut = shape[1],
) => {
  const { stride } = paramLayout(load, steps);
  const plane = shape[2] * shape[3];
  const imageLen = shape[0] * channelsOut * plane;
  const total = imageLen * count;
  const size = dispatchSize(gpu, total);
  return await Effect.runPromise(Effect.gen(function* () {
    const src = yield* storageFrom(gpu, words, "src");
    const dst = yield* storageFrom(gpu, new Float32Array(total), "dst");
    const p = yield* storageFrom(gpu, params.length > 0 ? params : new Float32Array(1), "params");
    const dims = yield* uniformFrom(
      gpu,
      dimsWords({
        total,
        imageLen,
        plane,
        channelsIn: shape[1],
        channelsOut,
        stride,
        srcStride: words.length / count,
        rowPitch: size.rowPitch,
      }),
      "dims",
    );
    yield* dispatch(gpu, fusedProgram(load, steps), [src, dst, p, dims], size);
    return yield* readBack(gpu, dst, total * 4);
  }));
};

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
    for (const c of cases) {
      const [frames, rows, cols, count] = [2, 5, 7, 3];
      const n = frames * c.samples * rows * cols; // samples per image
      const bytesPer = c.bits / 8;
      const wordsPer = Math.ceil((n * bytesPer) / 4);
      const words = new Uint32Array(wordsPer * count);
      const bytes = new Uint8Array(words.buffer);
      for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
      const params = new Float32Array(count * 5);
      for (let b = 0; b < count; b++) {
        params.set([c.stored, c.shift, c.signed ? 1 : 0, c.swap ? 1 : 0, c.planar], b * 5);
      }
      const shape: Shape = [frames, c.samples, rows, cols];
      const got = await runFused(gpu, `raw${c.bits}` as LoadMode, [], words, shape, count, params);
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
      assert.equal(maxAbsDiff(got, expected), 0, `unpack ${JSON.stringify(c)}`);
    }
  },
);

gpuTest(
  "rescale -> window (linear, linear_exact, sigmoid, inverted) -> normalize: fused kernel vs CPU <= 1e-5",
  async (gpu) => {
    const next = rng(11);
    const shape: Shape = [1, 1, 16, 20];
    const count = 4;
    const n = 16 * 20;
    const input = new Float32Array(n * count).map(() => Math.round(next() * 4095));
    const steps: FusedStep[] = [
      { label: "rescale", gpu: ew(rescale), origin: "built-in" },
      { label: "window", gpu: ew(window), origin: "built-in" },
      { label: "normalize", gpu: ew(normalize), origin: "built-in" },
    ];
    const { stride } = paramLayout("f32", steps);
    const modes = [0, 1, 2, 0];
    const params = new Float32Array(count * stride);
    const windows = modes.map((mode, b) => ({
      center: 40 + b * 10,
      width: 400 - b * 50,
      mode,
      invert: b === 3,
    }));
    for (let b = 0; b < count; b++) {
      const w = windows[b];
      params.set(
        [1, -1024, w.center, w.width, 0, 1, w.mode, w.invert ? 1 : 0, 0.5, 0, 0, 2, 1, 1],
        b * stride,
      );
    }
    const got = await runFused(gpu, "f32", steps, new Uint32Array(input.buffer), shape, count, params);
    const fns = ["linear", "linear_exact", "sigmoid"] as const;
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
      assert.ok(d <= 1e-5, `image ${b} (${fns[w.mode]}${w.invert ? ", inverted" : ""}): max diff ${d}`);
    }
  },
);

gpuTest("normalize replicates gray to RGB with per-channel mean/std", async (gpu) => {
  const shape: Shape = [2, 1, 3, 5];
  const input = new Float32Array(30).map((_, i) => i / 30);
  const steps: FusedStep[] = [{ label: "normalize", gpu: ew(normalize), origin: "built-in" }];
  const params = new Float32Array([0.485, 0.456, 0.406, 1 / 0.229, 1 / 0.224, 1 / 0.225]);
  const got = await runFused(gpu, "f32", steps, new Uint32Array(input.buffer), shape, 1, params, 3);
  const want = normalizeCpu(input, shape, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225], 3);
  assert.equal(got.length, 90);
  assert.ok(maxAbsDiff(got, want) <= 1e-6);
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
  const steps: FusedStep[] = [{ label: "rescale", gpu: ew(rescale), origin: "built-in" }];
  const words = new Uint32Array(new Float32Array([1, 2, 3, 4]).buffer);
  const shape: Shape = [1, 1, 2, 2];
  await runFused(gpu, "f32", steps, words, shape, 1, new Float32Array([2, 1]));
  const before = compiledPipelines();
  const got = await runFused(gpu, "f32", steps, words, shape, 1, new Float32Array([-1, 5]));
  assert.equal(compiledPipelines(), before, "same code, other values: no recompilation");
  assert.deepEqual([...got], [4, 3, 2, 1]);
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
    const steps: FusedStep[] = [
      { label: "sigmoid", gpu: ew(sigmoid), origin: "built-in" },
      { label: "threshold", gpu: ew(threshold), origin: "built-in" },
    ];
    const sig = await runFused(
      gpu,
      "f32",
      steps.slice(0, 1),
      new Uint32Array(x.buffer),
      [1, 1, 8, 8],
      1,
      new Float32Array(1),
    );
    const dSig = maxAbsDiff(sig, x.map((v) => 1 / (1 + Math.exp(-v))));
    assert.ok(dSig <= 1e-6, `sigmoid: ${dSig}`);
    const mask = await runFused(
      gpu,
      "f32",
      steps,
      new Uint32Array(x.buffer),
      [1, 1, 8, 8],
      1,
      new Float32Array([0.7]),
    );
    assert.equal(
      maxAbsDiff(mask, x.map((v) => (1 / (1 + Math.exp(-v)) >= 0.7 ? 1 : 0))),
      0,
      "sigmoid -> threshold fused",
    );
  },
);
