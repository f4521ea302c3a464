/**
 * The GPU executor: runs a plan over a batch of inputs with the stages' GPU forms.
 *
 * - Each input is parsed on the CPU by the source stage's `prepare` (raw stored words, or floats for data
 *   that had to be decoded on the CPU); inputs of the same shape and load mode form a batch, uploaded once.
 * - Consecutive elementwise stages (and the unpacking of raw words) run as one fused kernel
 *   (core/gpu/fuse.ts); other GPU stages run their own kernels; data stays on the GPU between them.
 * - A stage without a GPU form (e.g. `write`) gets the batch read back once; when it returns its image
 *   unchanged (as writers do), the GPU copy stays valid and no upload follows.
 * - Batches are sized to the device's limits; a batch that still runs out of memory is split in half, down
 *   to single images, never failed as a whole.
 * - An image a GPU form cannot handle (a lookup-table Modality LUT, say) runs on the CPU path instead; so
 *   does everything after a device loss.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import type * as FileSystem from "effect/FileSystem";
import { runStageOnCpu } from "../cpu-stage.ts";
import type { CodedError } from "../errors.ts";
import { groupUpload, isGroupInput } from "../group.ts";
import type { InputFile } from "../inputs.ts";
import { type Plan, type PlannedStage, providePlugins } from "../planner.ts";
import { finishSession, type LedgerEntry, openSession, type Session } from "../session.ts";
import type { AnyImageStage, Elementwise, KernelGpu, Upload } from "../stage.ts";
import { attachPredictions } from "../predictions.ts";
import type { Image, Shape } from "../tensor.ts";
import { type GpuBatch, imageLength } from "./batch.ts";
import { type GpuError, type GpuShape, WgslCompileError } from "./device.ts";
import {
  dimsWords,
  fusedProgram,
  type FusedStep,
  type LoadMode,
  paramLayout,
  UNPACK_FIELDS,
} from "./fuse.ts";
import { dispatch, dispatchSize, pipelineFor, readBack, uniformFrom } from "./kernels.ts";
import type { BufferPool } from "./pool.ts";

/** Options of the GPU executor. */
export interface GpuRunOptions {
  /** Fuse consecutive elementwise stages into one kernel (default true). */
  readonly fuse: boolean;
  /** Upper bound on images per batch (the device's limits may lower it). */
  readonly maxBatch: number;
  /** Bytes one batch buffer may use at most (besides the device's own limits). */
  readonly memoryBudget: number;
}

/** Defaults: fused, up to 32 images, 256 MiB per buffer. */
export const DEFAULT_GPU_OPTIONS: GpuRunOptions = {
  fuse: true,
  maxBatch: 32,
  memoryBudget: 256 * 1024 * 1024,
};

/** One input in a GPU batch. */
interface Item {
  readonly session: Session;
  readonly started: number;
  readonly upload: Upload;
  /** Current header (kind, shape, meta, notes) as the stages go. */
  header: Omit<Image, "data">;
  /** Current values on the CPU, when read back and still current. */
  cpu?: Float32Array;
  failed?: { readonly error: unknown; readonly stage: string };
  /** Why this input must run on the CPU path instead. */
  fallback?: string;
}

type Placed = PlannedStage<AnyImageStage>;

const elementwise = (s: Placed, gpu: GpuShape): Elementwise<unknown> | undefined =>
  s.stage.elementwise && (s.stage.elementwise.applies?.(s.params) ?? true) &&
    (s.stage.elementwise.enabled?.(s.params, gpu) ?? true)
    ? (s.stage.elementwise as Elementwise<unknown>)
    : undefined;

const kernel = (s: Placed, gpu: GpuShape): KernelGpu<unknown> | undefined =>
  s.stage.gpu?.kind === "kernel" && (s.stage.gpu.enabled?.(s.params, gpu) ?? true)
    ? (s.stage.gpu as KernelGpu<unknown>)
    : undefined;

/** The load mode an upload needs. */
export const loadModeOf = (u: Upload): LoadMode =>
  u.pixels.type === "f32" ? "f32" : (`raw${u.pixels.bitsAllocated}` as LoadMode);

/** Batches are formed from uploads with equal keys. */
export const batchKey = (u: Upload): string => `${u.image.shape.join("x")}:${loadModeOf(u)}`;

/** The largest number of f32 values one image occupies anywhere along the plan (for batch sizing). */
export const peakValues = (plan: Plan, shape: Shape): number => {
  let peak = imageLength(shape);
  let [frames, channels, rows, cols] = shape;
  for (const s of plan.stages) {
    rows = s.output.rows ?? rows;
    cols = s.output.cols ?? cols;
    channels = s.output.channels ?? channels;
    frames = s.output.frames ?? frames;
    peak = Math.max(peak, frames * channels * rows * cols);
  }
  return peak;
};

/** Images per batch for this shape under the device's limits and the options. */
export const batchCapacity = (gpu: GpuShape, plan: Plan, shape: Shape, options: GpuRunOptions): number => {
  const bytes = peakValues(plan, shape) * 4;
  const limit = Math.min(
    gpu.limits.maxStorageBufferBindingSize,
    gpu.limits.maxBufferSize,
    options.memoryBudget,
  );
  return Math.max(1, Math.min(options.maxBatch, Math.floor(limit / bytes)));
};

/** Packs the uploads of a batch into one buffer of 32-bit words; returns it with the words per image. */
const packUploads = (items: ReadonlyArray<Item>): { words: Uint32Array; stride: number } => {
  const first = items[0].upload.pixels;
  const perImage = first.type === "f32" ? first.data.length : Math.ceil(first.bytes.length / 4);
  const words = new Uint32Array(perImage * items.length);
  const bytes = new Uint8Array(words.buffer);
  items.forEach((it, i) => {
    const px = it.upload.pixels;
    const src = px.type === "f32"
      ? new Uint8Array(px.data.buffer, px.data.byteOffset, px.data.byteLength)
      : px.bytes;
    bytes.set(src.subarray(0, Math.min(src.length, perImage * 4)), i * perImage * 4);
  });
  return { words, stride: perImage };
};

/** Where a batch's data is: raw upload (words), on the GPU as f32, or only on the CPU. */
type Location =
  | { readonly at: "upload"; readonly buffer: GPUBuffer; readonly load: LoadMode; readonly srcStride: number }
  | { readonly at: "gpu"; readonly buffer: GPUBuffer };

/** Runs the plan's stages for a batch of prepared items; items end ok, failed or marked for CPU fallback. */
const runBatch = (
  plan: Plan,
  gpu: GpuShape,
  pool: BufferPool,
  items: ReadonlyArray<Item>,
  options: GpuRunOptions,
): Effect.Effect<void, GpuError | CodedError> =>
  Effect.gen(function* () {
    const active = () => items.filter((it) => !it.failed && !it.fallback);
    const count = items.length;
    const shape = items[0].header.shape;
    const { words, stride: srcStride } = packUploads(items);
    const upload = yield* pool.acquire(words.byteLength, "upload");
    gpu.device.queue.writeBuffer(upload, 0, words.buffer as ArrayBuffer, 0, words.byteLength);
    let loc: Location = { at: "upload", buffer: upload, load: loadModeOf(items[0].upload), srcStride };
    let curShape: Shape = shape;
    /** True when the GPU copy is current (false after a CPU stage changed the data). */
    let gpuCurrent = true;

    const toGpu = Effect.gen(function* () {
      if (gpuCurrent) return;
      const len = imageLength(curShape);
      const data = new Float32Array(len * count);
      items.forEach((it, i) => {
        if (it.cpu) data.set(it.cpu.subarray(0, len), i * len);
      });
      const buffer = yield* pool.acquire(data.byteLength, "reupload");
      gpu.device.queue.writeBuffer(buffer, 0, data.buffer, 0, data.byteLength);
      if (loc.at === "gpu") pool.release(loc.buffer);
      loc = { at: "gpu", buffer };
      gpuCurrent = true;
    });

    /** Runs a fused chain (possibly empty: load only) and moves the batch to f32 on the GPU. */
    const runFused = (
      steps: ReadonlyArray<{ readonly placed: Placed; readonly gpu: Elementwise<unknown> }>,
    ) =>
      Effect.gen(function* () {
        yield* toGpu;
        const load: LoadMode = loc.at === "upload" ? loc.load : "f32";
        const fused: FusedStep[] = steps.map((s) => ({
          label: s.placed.label,
          gpu: s.gpu,
          origin: plan.registry.stages.get(s.placed.stage.name)?.origin ?? "built-in",
        }));
        const { offsets, stride } = paramLayout(load, fused);
        const params = new Float32Array(count * stride);
        // Images are [frames, channels, rows, cols]; other tensors (predictions) are treated as
        // [frames, axis 1, everything else] - elementwise stages do not care, channel changes need images.
        const channelsIn = curShape.length > 1 ? curShape[1] : 1;
        const withChannels = (shape: Shape, channels: number): Shape =>
          shape.length === 4 ? [shape[0], channels, shape[2], shape[3]] : shape;
        let channelsOut = channelsIn;
        for (const s of steps) channelsOut = s.gpu.channels?.(s.placed.params, channelsOut) ?? channelsOut;
        // Per-image values, in stage order (each step sees the header the previous steps left).
        for (const [i, it] of items.entries()) {
          if (it.failed || it.fallback) continue;
          if (load !== "f32") {
            const px = it.upload.pixels;
            if (px.type === "raw") {
              const v = [px.bitsStored, px.shift, px.signed ? 1 : 0, px.byteSwap ? 1 : 0, px.planar];
              params.set(v.slice(0, UNPACK_FIELDS.length), i * stride);
            }
          }
          for (const [j, s] of steps.entries()) {
            const r = yield* Effect.result(s.gpu.values(s.placed.params, it.header));
            if (r._tag === "Failure") {
              const e = r.failure as { _tag?: string; message?: string };
              if (e._tag === "CpuFallback") it.fallback = `${s.placed.label}: ${e.message}`;
              else it.failed = { error: r.failure, stage: s.placed.label };
              break;
            }
            s.gpu.fields.forEach((f, k) => (params[i * stride + offsets[j] + k] = r.success.values[f] ?? 0));
            const produces = s.placed.stage.produces;
            it.header = {
              ...it.header,
              kind: produces === "same" ? it.header.kind : produces,
              shape: withChannels(
                curShape,
                s.gpu.channels?.(s.placed.params, it.header.shape[1]) ?? it.header.shape[1],
              ),
              notes: r.success.notes ? { ...it.header.notes, ...r.success.notes } : it.header.notes,
            };
          }
        }
        const outShape: Shape = withChannels(curShape, channelsOut);
        const imageLen = imageLength(outShape);
        const total = imageLen * count;
        const size = dispatchSize(gpu, total);
        const program = fusedProgram(load, fused);
        const dst = yield* pool.acquire(total * 4, program.name);
        const paramBuf = yield* pool.acquire(params.byteLength, "params");
        gpu.device.queue.writeBuffer(paramBuf, 0, params.buffer, 0, params.byteLength);
        const dims = yield* uniformFrom(
          gpu,
          dimsWords({
            total,
            imageLen,
            plane: imageLength(curShape) / (curShape[0] * channelsIn),
            channelsIn,
            channelsOut,
            stride,
            srcStride: loc.at === "upload" ? loc.srcStride : imageLength(curShape),
            rowPitch: size.rowPitch,
          }),
          "dims",
        );
        yield* dispatch(gpu, program, [loc.buffer, dst, paramBuf, dims], size);
        dims.destroy();
        pool.release(paramBuf);
        pool.release(loc.buffer);
        loc = { at: "gpu", buffer: dst };
        curShape = outShape;
        for (const it of items) it.cpu = undefined;
      });

    const stages = plan.stages;
    let i = 0;
    while (i < stages.length && active().length > 0) {
      const s = stages[i];
      const ew = elementwise(s, gpu);
      if (ew) {
        const chain = [{ placed: s, gpu: ew }];
        let j = i + 1;
        // A stage that may change the channel count ends a fused chain (the kernel's indexing assumes it last).
        while (options.fuse && j < stages.length && !chain[chain.length - 1].gpu.channels) {
          const next = elementwise(stages[j], gpu);
          if (!next) break;
          chain.push({ placed: stages[j], gpu: next });
          j++;
        }
        yield* runFused(chain);
        i = j;
        continue;
      }
      const kg = kernel(s, gpu);
      if (kg) {
        if (loc.at === "upload") yield* runFused([]);
        yield* toGpu;
        const images = items.map((it) => it.header);
        const batch: GpuBatch = { gpu, pool, buffer: loc.buffer, shape: curShape, count, images };
        const out = yield* kg.run(s.params, batch);
        for (const it of active()) {
          const notes = kg.notes?.(s.params, it.header);
          const produces = s.stage.produces;
          it.header = {
            ...it.header,
            meta: kg.meta?.(s.params, it.header) ?? it.header.meta,
            shape: out.shape,
            kind: produces === "same" ? it.header.kind : produces,
            notes: notes ? { ...it.header.notes, ...notes } : it.header.notes,
          };
          it.cpu = undefined;
        }
        loc = { at: "gpu", buffer: out.buffer };
        curShape = out.shape;
        i++;
        continue;
      }
      // A CPU stage: read back once (if the GPU copy is newer), then run it per image (or as one batch).
      if (loc.at === "upload") yield* runFused([]);
      if (items.some((it) => !it.cpu)) {
        const len = imageLength(curShape);
        const all = yield* readBack(gpu, loc.buffer, len * count * 4);
        items.forEach((it, k) => (it.cpu = all.subarray(k * len, (k + 1) * len)));
      }
      const act = active();
      const images: Image[] = act.map((it) => ({ ...it.header, data: it.cpu! }));
      const results = yield* runStageOnCpu(plan, s, images, act.map((it) => it.session));
      act.forEach((it, k) => {
        const r = results[k];
        if (!r.ok) {
          it.failed = { error: r.error, stage: s.label };
          return;
        }
        const { data, ...header } = r.image;
        if (data !== images[k].data) gpuCurrent = false;
        it.header = header;
        it.cpu = data;
      });
      // A CPU stage that changed shapes (e.g. a model's output): the rest of this batch stays on the CPU.
      const shapes = new Set(active().map((it) => it.header.shape.join()));
      if (!gpuCurrent && (shapes.size > 1 || [...shapes][0] !== curShape.join())) {
        yield* runRestOnCpu(plan, active(), i + 1);
        break;
      }
      i++;
    }
    pool.release(loc.buffer);
  });

/** Runs stages `from`.. on the CPU for items whose current values are on the CPU. */
const runRestOnCpu = (plan: Plan, items: ReadonlyArray<Item>, from: number) =>
  Effect.gen(function* () {
    for (const s of plan.stages.slice(from)) {
      const act = items.filter((it) => !it.failed && !it.fallback);
      if (act.length === 0) return;
      const images = act.map((it) => ({ ...it.header, data: it.cpu! }));
      const outcomes = yield* runStageOnCpu(plan, s, images, act.map((it) => it.session));
      act.forEach((it, k) => {
        const o = outcomes[k];
        if (!o.ok) {
          it.failed = { error: o.error, stage: s.label };
          return;
        }
        const { data, ...header } = o.image;
        it.header = header;
        it.cpu = data;
      });
    }
  });

/** Prepares one input for the GPU (read + parse), or returns its ledger entry when that already fails. */
const prepare = (
  plan: Plan,
  input: InputFile,
  outDir: string,
  fs: FileSystem.FileSystem,
): Effect.Effect<{ readonly item: Item } | { readonly entry: LedgerEntry }, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const started = performance.now();
    const session = yield* openSession(input, outDir);
    const source = plan.source.stage;
    const exit = yield* Effect.exit(
      isGroupInput(input) ? groupUpload(plan, input.group) : Effect.gen(function* () {
        const bytes = yield* fs.readFile(input.path).pipe(
          Effect.mapError((e) => ({
            code: "READ_ERROR",
            message: `cannot read ${input.path}: ${e.message}`,
          })),
        );
        const file = { path: input.path, bytes };
        if (source.prepare) return (yield* source.prepare(file, plan.source.params)) as Upload;
        const { data, ...image } = yield* source.run(file, plan.source.params);
        return { image, pixels: { type: "f32", data } } as Upload;
      }).pipe(providePlugins(plan)),
    );
    if (Exit.isSuccess(exit)) {
      const item: Item = { session, started, upload: exit.value, header: exit.value.image };
      return { item };
    }
    return { entry: yield* finishSession(session, exit, plan.source.label, started) };
  });

/** The outcome of running some inputs on the GPU. */
export interface GpuChunkResult {
  readonly entries: ReadonlyArray<LedgerEntry>;
  /** Inputs to run on the CPU path instead (with the reason). */
  readonly fallback: ReadonlyArray<{ readonly input: InputFile; readonly reason: string }>;
  /** Set when the device was lost: every later input should run on the CPU. */
  readonly deviceLost?: string;
}

/** Splits `items` into groups of equal batch key, then into batches of at most `capacity`. */
const formBatches = (
  plan: Plan,
  gpu: GpuShape,
  items: ReadonlyArray<Item>,
  options: GpuRunOptions,
): Item[][] => {
  const groups = new Map<string, Item[]>();
  for (const it of items) {
    const key = batchKey(it.upload);
    groups.set(key, [...(groups.get(key) ?? []), it]);
  }
  const batches: Item[][] = [];
  for (const group of groups.values()) {
    const cap = batchCapacity(gpu, plan, group[0].upload.image.shape, options);
    for (let k = 0; k < group.length; k += cap) batches.push(group.slice(k, k + cap));
  }
  return batches;
};

/** Runs a batch; on out-of-memory splits it in half (down to single images) and tries again. */
const runSplitting = (
  plan: Plan,
  gpu: GpuShape,
  pool: BufferPool,
  batch: Item[],
  options: GpuRunOptions,
): Effect.Effect<void, GpuError | CodedError> =>
  Effect.catchIf(
    runBatch(plan, gpu, pool, batch, options),
    (e) => (e as { _tag?: string })._tag === "GpuOutOfMemory" && batch.length > 1,
    () =>
      Effect.gen(function* () {
        for (const it of batch) {
          yield* it.session.rollback;
          it.failed = undefined;
          it.fallback = undefined;
          it.cpu = undefined;
          it.header = it.upload.image;
        }
        pool.clear();
        const half = Math.ceil(batch.length / 2);
        yield* runSplitting(plan, gpu, pool, batch.slice(0, half), options);
        yield* runSplitting(plan, gpu, pool, batch.slice(half), options);
      }),
  );

/**
 * Runs `inputs` through `plan` on the GPU. Entries come back in input order; inputs that must run on the
 * CPU instead are listed in `fallback` (their outputs were rolled back).
 */
export const runInputsGpu = (
  plan: Plan,
  gpu: GpuShape,
  pool: BufferPool,
  inputs: ReadonlyArray<InputFile>,
  outDir: string,
  fs: FileSystem.FileSystem,
  options: GpuRunOptions = DEFAULT_GPU_OPTIONS,
): Effect.Effect<GpuChunkResult, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const byInput = new Map<InputFile, LedgerEntry>();
    const items: Item[] = [];
    for (const input of inputs) {
      const r = yield* prepare(plan, input, outDir, fs);
      if ("entry" in r) byInput.set(input, r.entry);
      else items.push(r.item);
    }
    const fallback: Array<{ input: InputFile; reason: string }> = [];
    let deviceLost: string | undefined;
    for (const batch of formBatches(plan, gpu, items, options)) {
      const exit = deviceLost ? undefined : yield* Effect.exit(runSplitting(plan, gpu, pool, batch, options));
      const gpuError = exit && Exit.isFailure(exit) ? Cause.findErrorOption(exit.cause) : undefined;
      const lost = gpuError?._tag === "Some" &&
        (gpuError.value as { _tag?: string })._tag === "GpuDeviceLost";
      if (!exit || lost) {
        deviceLost ??= gpuError?._tag === "Some" ? gpuError.value.message : "GPU device lost";
        for (const it of batch) {
          yield* it.session.rollback;
          fallback.push({ input: it.session.input, reason: deviceLost });
        }
        continue;
      }
      // Any other GPU failure (out of memory even for one image, a fused kernel that does not compile, a
      // defect) sends the whole batch to the CPU path: inputs are never lost to the GPU.
      if (exit && Exit.isFailure(exit)) {
        const reason = gpuError?._tag === "Some"
          ? `${(gpuError.value as CodedError).code}: ${(gpuError.value as CodedError).message}`
          : `GPU failure: ${String(Cause.squash(exit.cause))}`;
        for (const it of batch) {
          yield* it.session.rollback;
          fallback.push({ input: it.session.input, reason });
        }
        continue;
      }
      for (const it of batch) {
        if (it.fallback && !it.failed) {
          yield* it.session.rollback;
          fallback.push({ input: it.session.input, reason: it.fallback });
          continue;
        }
        const result = it.failed ? Exit.fail(it.failed.error) : Exit.void;
        const final = it.cpu ? attachPredictions(plan.stages, { ...it.header, data: it.cpu }) : undefined;
        byInput.set(
          it.session.input,
          yield* finishSession(it.session, result, it.failed?.stage ?? "", it.started, final),
        );
      }
    }
    const entries = inputs.flatMap((input) => {
      const e = byInput.get(input);
      return e ? [e] : [];
    });
    return { entries, fallback, ...(deviceLost ? { deviceLost } : {}) };
  });

/** Compiles every GPU kernel a plan can use, so WGSL errors surface before any input is read. */
export const precompile = (plan: Plan, gpu: GpuShape): Effect.Effect<void, WgslCompileError> =>
  Effect.gen(function* () {
    for (const s of plan.stages) {
      const ew = elementwise(s, gpu);
      if (!ew) continue;
      const origin = plan.registry.stages.get(s.stage.name)?.origin ?? "built-in";
      yield* pipelineFor(gpu, fusedProgram("f32", [{ label: s.label, gpu: ew, origin }]));
    }
  });
