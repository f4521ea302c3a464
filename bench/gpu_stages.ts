/**
 * Per-kernel GPU times for one batch (used by bench.ts; `deno run -A bench/gpu_stages.ts` runs it alone on
 * 64 synthetic CT slices): the upload, each dcmflow kernel of the seed recipe, and beside each kernel a
 * plain copy kernel that reads and writes the same bytes on the same adapter (vector loads and stores,
 * nothing else). The copy kernel is the memory-bandwidth bound, so "x copy" is the portable figure: on a
 * hardware GPU a kernel costs about that multiple of bytes / bandwidth.
 *
 * Kernel times are the batch's dispatches queued `INNER` times back to back and waited for once, divided
 * by `INNER` (a wait alone costs ~11 ms on Deno's WebGPU, whatever the work); best of `repeats` rounds,
 * each round timing every kernel and its copy, so load from other processes hits both alike.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { imageLength } from "../core/gpu/batch.ts";
import type { GpuShape } from "../core/gpu/device.ts";
import {
  F32_LOAD,
  type FusedStep,
  type ImageValues,
  type LoadSpec,
  loadSpecOf,
  runFused,
} from "../core/gpu/fuse.ts";
import {
  dispatch,
  dispatchSize,
  type ProgramInfo,
  readBack,
  storage,
  WORKGROUP_SIZE,
} from "../core/gpu/kernels.ts";
import { submitPending, writeBuffer } from "../core/gpu/commands.ts";
import { BufferPool } from "../core/gpu/pool.ts";
import type { Elementwise, Upload } from "../core/stage.ts";
import type { Shape } from "../core/tensor.ts";
import { normalize, rescale, window } from "../plugins/mod.ts";
import { resizeBatch } from "../plugins/resize/gpu.ts";

/** Dispatches queued per timing (see the module comment). */
const INNER = 4;

/** One line of the table. */
export interface GpuStageRow {
  readonly step: string;
  /** ms for the whole batch. */
  readonly ms: number;
  /** ms of the copy kernel(s) moving the same bytes (undefined: no kernel, e.g. the upload). */
  readonly copyMs?: number;
  /** Bytes read + written per slice. */
  readonly bytesPerSlice: number;
}

const run = <A>(e: Effect.Effect<A, unknown>) => Effect.runPromise(e as Effect.Effect<A>);

/**
 * A plain copy kernel moving `inBytes` to `outBytes` (multiples of 16): one output vec4 per invocation,
 * reading 8 bytes per output vec4 when the output is twice the input (words to floats), else
 * `inBytes / outBytes` input vec4s (each pass over the input contiguous across invocations).
 */
const copyProgram = (gpu: GpuShape, inBytes: number, outBytes: number) => {
  const out = outBytes / 16;
  const size = dispatchSize(gpu, out);
  const widen = outBytes === 2 * inBytes;
  const fold = Math.floor(inBytes / outBytes);
  const extra = inBytes / 16 - fold * out;
  const body = widen
    ? "let s = src[i];\n  dst[i] = vec4f(f32(s.x & 0xFFFFu), f32(s.x >> 16u), f32(s.y & 0xFFFFu), f32(s.y >> 16u));"
    : `var acc = vec4u(0u);
  for (var k = 0u; k < ${fold}u; k++) { acc += src[k * ${out}u + i]; }
  if (i < ${extra}u) { acc += src[${fold * out}u + i]; }
  dst[i] = bitcast<vec4f>(acc);`;
  const code = `@group(0) @binding(0) var<storage, read> src: array<${widen ? "vec2u" : "vec4u"}>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4f>;
@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * ${size.rowPitch}u;
  if (i >= ${out}u) { return; }
  ${body}
}`;
  const program: ProgramInfo = {
    name: "copy",
    cacheKey: `bench-copy:${inBytes}->${outBytes}`,
    code,
    entry: "main",
  };
  return { program, size };
};

/** A function queueing a copy kernel over fresh buffers of the given sizes. */
const copyKernel = async (gpu: GpuShape, inBytes: number, outBytes: number) => {
  const round = (n: number) => Math.ceil(n / 16) * 16;
  const { program, size } = copyProgram(gpu, round(inBytes), round(outBytes));
  const src = await run(storage(gpu, round(inBytes), "copy src"));
  const dst = await run(storage(gpu, round(outBytes), "copy dst"));
  return {
    queue: () => run(dispatch(gpu, program, [src, dst], size, { defer: true })),
    destroy: () => [src, dst].forEach((b) => b.destroy()),
  };
};

/** Waits for the queue, then times `queue` run `INNER` times back to back (ms per run). */
const timeQueued = async (gpu: GpuShape, queue: () => Promise<unknown>) => {
  await gpu.device.queue.onSubmittedWorkDone();
  const t0 = performance.now();
  for (let i = 0; i < INNER; i++) await queue();
  submitPending(gpu);
  await gpu.device.queue.onSubmittedWorkDone();
  return (performance.now() - t0) / INNER;
};

const step = (stage: { name: string; elementwise?: unknown }): FusedStep => ({
  label: stage.name,
  gpu: stage.elementwise as Elementwise<unknown>,
  params: {},
  origin: "built-in",
});

/** The seed recipe's field values (rescale -1024, window 40/400 linear, normalize 0.5/0.5). */
const VALUES: Record<string, Record<string, number>> = {
  rescale: { slope: 1, intercept: -1024 },
  window: { center: 40, width: 400, ymin: 0, ymax: 1, mode: 0, invert: 0 },
  normalize: { mean0: 0.5, mean1: 0.5, mean2: 0.5, inv0: 2, inv1: 2, inv2: 2 },
};

/** Per-kernel times (ms per batch, best of `repeats`) over `uploads` (all of the same shape). */
export const gpuStageTimes = async (
  gpu: GpuShape,
  uploads: ReadonlyArray<Upload>,
  repeats: number,
): Promise<ReadonlyArray<GpuStageRow>> => {
  const count = uploads.length;
  const shape = uploads[0].image.shape as Shape;
  const n = imageLength(shape);
  const out: Shape = [shape[0], shape[1], 224, 224];
  const nOut = imageLength(out);
  const load: LoadSpec = loadSpecOf(uploads[0].pixels, shape[1]);
  const wordsPer = uploads[0].pixels.type === "raw" ? Math.ceil(uploads[0].pixels.bytes.length / 4) : n;
  const inBytes = wordsPer * 4;
  const pool = new BufferPool(gpu);
  const src = await run(storage(gpu, wordsPer * 4 * count, "bench src"));
  const f32 = await run(storage(gpu, n * 4 * count, "bench f32"));
  const small = await run(storage(gpu, nOut * 4 * count, "bench 224"));
  const values = (steps: ReadonlyArray<FusedStep>) =>
    Array.from({ length: count }, (): ImageValues => steps.map((s) => VALUES[s.label]));
  const fused =
    (steps: ReadonlyArray<FusedStep>, buffer: GPUBuffer, l: LoadSpec, at: Shape, words: number) => () =>
      run(Effect.map(
        runFused(gpu, pool, { buffer, load: l, words, shape: at, count }, steps, values(steps)),
        (o) => pool.release(o.buffer),
      ));
  const upload = () => {
    uploads.forEach((u, i) => {
      const px = u.pixels;
      const bytes = px.type === "raw" ? px.bytes : new Uint8Array(px.data.buffer);
      writeBuffer(gpu, src, i * wordsPer * 4, bytes);
    });
    return Promise.resolve();
  };
  // resizeBatch gives its input back to the pool: each run takes one from the pool (the same one).
  const resize = () =>
    run(Effect.gen(function* () {
      const buffer = yield* pool.acquire(n * 4 * count, "resize input");
      const b = yield* resizeBatch({ gpu, pool, buffer, shape, count }, 224, 224, "bilinear", true);
      pool.release(b.buffer);
    }));
  const raw = load.kind === "raw";
  const chain = [step(rescale), step(window)];
  const copies = {
    words: await copyKernel(gpu, inBytes * count, n * 4 * count),
    f32: await copyKernel(gpu, n * 4 * count, n * 4 * count),
    h: await copyKernel(gpu, n * 4 * count, shape[2] * 224 * 4 * count),
    v: await copyKernel(gpu, shape[2] * 224 * 4 * count, nOut * 4 * count),
    small: await copyKernel(gpu, nOut * 4 * count, nOut * 4 * count),
  };
  const sum = (...fs: Array<() => Promise<unknown>>) => async () => {
    for (const f of fs) await f();
  };
  const firstCopy = raw ? copies.words.queue : copies.f32.queue;
  const unfused = [
    ...(raw ? [fused([], src, load, shape, wordsPer)] : []),
    fused([step(rescale)], f32, F32_LOAD, shape, n),
    fused([step(window)], f32, F32_LOAD, shape, n),
  ];
  const cases: Array<
    { step: string; kernel: () => Promise<unknown>; copy?: () => Promise<unknown>; bytes: number }
  > = [
    {
      step: `upload (${raw ? "raw stored words" : "f32"}, writeBuffer per slice)`,
      kernel: upload,
      bytes: inBytes,
    },
    {
      step: `fused ${raw ? "unpack + " : ""}rescale + window (1 dispatch)`,
      kernel: fused(chain, src, load, shape, wordsPer),
      copy: firstCopy,
      bytes: inBytes + n * 4,
    },
    {
      step: `the same unfused (${unfused.length} dispatches)`,
      kernel: sum(...unfused),
      copy: raw
        ? sum(copies.words.queue, copies.f32.queue, copies.f32.queue)
        : sum(copies.f32.queue, copies.f32.queue),
      bytes: (raw ? inBytes + n * 4 : 0) + 2 * 8 * n,
    },
    {
      step: `resize ${shape[2]}x${shape[3]} -> 224x224 antialias (2 passes)`,
      kernel: resize,
      copy: sum(copies.h.queue, copies.v.queue),
      bytes: 4 * (n + 2 * shape[2] * 224 + nOut),
    },
    {
      step: "normalize (224x224)",
      kernel: fused([step(normalize)], small, F32_LOAD, out, nOut),
      copy: copies.small.queue,
      bytes: 8 * nOut,
    },
  ];
  const best = cases.map(() => ({ ms: Infinity, copyMs: Infinity }));
  for (const c of cases) await c.kernel(); // compile outside the timing
  for (const c of cases) await c.copy?.();
  for (let r = 0; r < repeats; r++) {
    for (const [i, c] of cases.entries()) {
      best[i].ms = Math.min(best[i].ms, await timeQueued(gpu, c.kernel));
      if (c.copy) best[i].copyMs = Math.min(best[i].copyMs, await timeQueued(gpu, c.copy));
    }
  }
  const rows: GpuStageRow[] = cases.map((c, i) => ({
    step: c.step,
    ms: best[i].ms,
    ...(c.copy ? { copyMs: best[i].copyMs } : {}),
    bytesPerSlice: c.bytes,
  }));
  let readMs = Infinity;
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await run(readBack(gpu, small, nOut * 4 * count));
    readMs = Math.min(readMs, performance.now() - t0);
  }
  rows.push({ step: "readback 224x224 results (map + copy out)", ms: readMs, bytesPerSlice: nOut * 4 });
  for (const b of [src, f32, small]) b.destroy();
  for (const c of Object.values(copies)) c.destroy();
  pool.clear();
  return rows;
};

/** Hardware GPUs the table predicts for: HBM/GDDR bandwidth in GB/s. */
const HARDWARE: ReadonlyArray<readonly [string, number]> = [["H100 SXM (3350 GB/s)", 3350], [
  "RTX 4090 (1008 GB/s)",
  1008,
]];

/** The Markdown table of {@link gpuStageTimes}' rows for a batch of `slices`. */
export const gpuStageTable = (rows: ReadonlyArray<GpuStageRow>, slices: number): string => {
  const lines = [
    `| GPU step (batch of ${slices}) | ms / batch | copy kernel ms | x copy | MB / slice | ${
      HARDWARE.map(([name]) => `bound on ${name}, µs / slice`).join(" | ")
    } |`,
    `|---|---:|---:|---:|---:|${HARDWARE.map(() => "---:").join("|")}|`,
  ];
  for (const r of rows) {
    const bound = HARDWARE.map(([, gbs]) => ((r.bytesPerSlice / (gbs * 1e9)) * 1e6).toFixed(2));
    lines.push(
      `| ${r.step} | ${r.ms.toFixed(1)} | ${r.copyMs?.toFixed(1) ?? "-"} | ${
        r.copyMs ? (r.ms / r.copyMs).toFixed(2) : "-"
      } | ${(r.bytesPerSlice / 2 ** 20).toFixed(2)} | ${bound.join(" | ")} |`,
    );
  }
  return lines.join("\n");
};

if (import.meta.main) {
  const { acquireGpu } = await import("../core/gpu/device.ts");
  const { decode } = await import("../plugins/mod.ts");
  const { makeCtSlice } = await import("./synthetic.ts");
  const slices = Number(Deno.args[0] ?? 64);
  const gpu = await run(acquireGpu);
  const uploads: Upload[] = [];
  for (let i = 0; i < slices; i++) {
    uploads.push(
      await run(decode.prepare!({ path: "x", bytes: makeCtSlice(512, 512, i) }, {}) as Effect.Effect<Upload>),
    );
  }
  console.log(`\nGPU kernels, ${gpu.adapter}, one batch of ${slices} CT slices 512x512\n`);
  console.log(gpuStageTable(await gpuStageTimes(gpu, uploads, 5), slices));
  gpu.device.destroy();
}
