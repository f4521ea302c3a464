/**
 * Per-kernel GPU times for a batch (used by bench.ts): upload, the fused unpack -> rescale -> window kernel,
 * the same stages unfused, resize, normalize and readback, each waited for with onSubmittedWorkDone.
 */
import { Effect } from "effect";
import type { GpuShape } from "../core/gpu/device.ts";
import { dimsWords, fusedProgram, type FusedStep, type LoadMode, paramLayout } from "../core/gpu/fuse.ts";
import { dispatch, dispatchSize, readBack, storageFrom, uniformFrom } from "../core/gpu/kernels.ts";
import { BufferPool } from "../core/gpu/pool.ts";
import type { Elementwise, Upload } from "../core/stage.ts";
import type { Shape } from "../core/tensor.ts";
import { normalize, rescale, window } from "../plugins/mod.ts";
import { resizeBatch } from "../plugins/resize/gpu.ts";

const ew = (s: { elementwise?: unknown }) => s.elementwise as Elementwise<unknown>;

/** Times (ms, best of `repeats`) of each GPU step over `uploads` (all the same shape). */
export const gpuStageTimes = async (gpu: GpuShape, uploads: ReadonlyArray<Upload>, repeats: number) => {
  const count = uploads.length;
  const shape = uploads[0].image.shape as Shape;
  const n = shape[0] * shape[1] * shape[2] * shape[3];
  const first = uploads[0].pixels;
  const raw = first.type === "raw";
  const load: LoadMode = first.type === "raw" ? `raw${first.bitsAllocated}` as LoadMode : "f32";
  const wordsPer = first.type === "raw" ? Math.ceil(first.bytes.length / 4) : n;
  const words = new Uint32Array(wordsPer * count);
  uploads.forEach((u, i) => {
    const src = u.pixels.type === "raw" ? u.pixels.bytes : new Uint8Array(u.pixels.data.buffer);
    new Uint8Array(words.buffer).set(src, i * wordsPer * 4);
  });
  const pool = new BufferPool(gpu);
  const done = () => gpu.device.queue.onSubmittedWorkDone();
  const time = async (fn: () => Promise<unknown>) => {
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      await fn();
      await done();
      best = Math.min(best, performance.now() - t0);
    }
    return best;
  };
  const run = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e as Effect.Effect<A>);
  const src = await run(storageFrom(gpu, words, "bench src"));
  const f32 = await run(storageFrom(gpu, new Float32Array(n * count), "bench f32"));
  const out = await run(storageFrom(gpu, new Float32Array(n * count), "bench out"));
  const fused = async (steps: FusedStep[], input: GPUBuffer, l: LoadMode, at: Shape = shape) => {
    const n = at[0] * at[1] * at[2] * at[3];
    const { stride } = paramLayout(l, steps);
    const params = new Float32Array(count * stride);
    for (let b = 0; b < count; b++) {
      const vals = [
        ...(l === "f32" ? [] : [12, 0, 0, 0, 1]),
        ...steps.flatMap((s) =>
          s.label === "rescale"
            ? [1, -1024]
            : s.label === "window"
            ? [40, 400, 0, 1, 0, 0]
            : [0.5, 0.5, 0.5, 2, 2, 2]
        ),
      ];
      params.set(vals, b * stride);
    }
    const size = dispatchSize(gpu, n * count);
    const p = await run(storageFrom(gpu, params, "bench params"));
    const dims = await run(uniformFrom(
      gpu,
      dimsWords({
        total: n * count,
        imageLen: n,
        plane: at[2] * at[3],
        channelsIn: at[1],
        channelsOut: at[1],
        stride,
        srcStride: l === "f32" ? n : wordsPer,
        rowPitch: size.rowPitch,
      }),
      "bench dims",
    ));
    return () => run(dispatch(gpu, fusedProgram(l, steps), [input, out, p, dims], size));
  };
  const step = (label: string, stage: { elementwise?: unknown }): FusedStep => ({
    label,
    gpu: ew(stage),
    origin: "built-in",
  });
  const rows: Array<[string, number]> = [];
  rows.push([
    `upload (${raw ? "raw stored words" : "f32"})`,
    await time(() => Promise.resolve(gpu.device.queue.writeBuffer(src, 0, words))),
  ]);
  const fusedRun = await fused([step("rescale", rescale), step("window", window)], src, load);
  await fusedRun(); // compile outside the timing
  rows.push([`fused ${raw ? "unpack + " : ""}rescale + window (1 dispatch)`, await time(fusedRun)]);
  const steps = [
    ...(raw ? [await fused([], src, load)] : []),
    await fused([step("rescale", rescale)], f32, "f32"),
    await fused([step("window", window)], f32, "f32"),
  ];
  for (const s of steps) await s();
  rows.push([
    `unfused, ${steps.length} dispatches`,
    await time(async () => {
      for (const s of steps) await s();
    }),
  ]);
  const resizeOnce = async () => {
    const b = await run(resizeBatch({ gpu, pool, buffer: out, shape, count }, 224, 224, "bilinear", true));
    pool.release(b.buffer);
  };
  await resizeOnce();
  rows.push(["resize 224 antialias (2 passes)", await time(resizeOnce)]);
  const norm = await fused([step("normalize", normalize)], f32, "f32", [shape[0], shape[1], 224, 224]);
  await norm();
  rows.push(["normalize (224x224)", await time(norm)]);
  rows.push([
    "readback 224x224 results",
    await time(() => run(readBack(gpu, out, count * shape[0] * shape[1] * 224 * 224 * 4))),
  ]);
  for (const b of [src, f32, out]) b.destroy();
  pool.clear();
  return rows;
};
