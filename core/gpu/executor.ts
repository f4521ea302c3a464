/**
 * The GPU executor: runs a plan over inputs with the stages' GPU forms, batch by batch, overlapping the
 * CPU's work with the GPU's.
 *
 * - Inputs arrive prepared (read and parsed by the source stage's `prepare`: raw stored words, or floats
 *   for data decoded on the CPU), here or on worker threads ({@link GpuRun.add}); inputs of the same shape
 *   and storage format form a batch, uploaded once.
 * - A batch is launched as soon as it is full and runs in its own fiber (core/gpu/batch_run.ts): its
 *   uploads and kernels are queued at once, and while the GPU works and its results are mapped back, this
 *   thread prepares the next batch and runs the previous batch's CPU stages (up to `inFlight` batches).
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
import * as Fiber from "effect/Fiber";
import type * as FileSystem from "effect/FileSystem";
import type { CodedError } from "../errors.ts";
import { groupUpload, isGroupInput } from "../group.ts";
import type { InputFile } from "../inputs.ts";
import { type Plan, providePlugins } from "../planner.ts";
import { attachPredictions } from "../predictions.ts";
import { finishSession, type LedgerEntry, openSession } from "../session.ts";
import type { Upload } from "../stage.ts";
import type { Shape } from "../tensor.ts";
import { imageLength } from "./batch.ts";
import { type BatchTurn, GpuBatchRun, type Item, uploadLoad } from "./batch_run.ts";
import type { GpuError, GpuShape, WgslCompileError } from "./device.ts";
import { F32_LOAD, fusedProgram, loadKey, paramCapacity } from "./fuse.ts";
import { pipelineFor } from "./kernels.ts";
import type { BufferPool } from "./pool.ts";
import { planSegments, type Segment } from "./segments.ts";

/** Options of the GPU executor. */
export interface GpuRunOptions {
  /** Fuse consecutive elementwise stages into one kernel (default true). */
  readonly fuse: boolean;
  /** Upper bound on images per batch (the device's limits may lower it). */
  readonly maxBatch: number;
  /** Bytes one batch buffer may use at most (besides the device's own limits). */
  readonly memoryBudget: number;
  /**
   * Batches left in flight when the next one is launched (default 1: while the GPU runs a batch, the next
   * is read and parsed, and the one before is read back and goes through its CPU stages).
   */
  readonly inFlight?: number;
}

/** Defaults: fused, up to 32 images, 256 MiB per buffer, one batch in flight besides the one launched. */
export const DEFAULT_GPU_OPTIONS: GpuRunOptions = {
  fuse: true,
  maxBatch: 32,
  memoryBudget: 256 * 1024 * 1024,
  inFlight: 1,
};

/** Batches are formed from uploads with equal keys: same shape, same storage format. */
export const batchKey = (u: Upload): string => `${u.image.shape.join("x")}:${loadKey(uploadLoad(u))}`;

/**
 * The most f32 values and the most planes (frames x channels) one image has anywhere along the plan (for
 * batch sizing).
 */
export const peakSize = (plan: Plan, shape: Shape): { readonly values: number; readonly planes: number } => {
  let [frames, channels, rows, cols] = shape;
  let values = imageLength(shape);
  let planes = (frames ?? 1) * (channels ?? 1);
  for (const s of plan.stages) {
    rows = s.output.rows ?? rows;
    cols = s.output.cols ?? cols;
    channels = s.output.channels ?? channels;
    frames = s.output.frames ?? frames;
    values = Math.max(values, frames * channels * rows * cols);
    planes = Math.max(planes, frames * channels);
  }
  return { values, planes };
};

/** The largest number of f32 values one image occupies anywhere along the plan. */
export const peakValues = (plan: Plan, shape: Shape): number => peakSize(plan, shape).values;

/**
 * Images per batch for this shape under the device's limits and the options: buffer sizes, the grid's
 * z extent (one workgroup layer per output plane) and the per-image parameter blocks of the fused kernels.
 */
export const batchCapacity = (gpu: GpuShape, plan: Plan, shape: Shape, options: GpuRunOptions): number => {
  const peak = peakSize(plan, shape);
  const bytes = peak.values * 4;
  const limit = Math.min(
    gpu.limits.maxStorageBufferBindingSize,
    gpu.limits.maxBufferSize,
    options.memoryBudget,
  );
  const fused = segmentsOf(plan, gpu, options).flatMap((s) => (s.kind === "fused" ? [s.steps] : []));
  return Math.max(
    1,
    Math.min(
      options.maxBatch,
      Math.floor(limit / bytes),
      Math.floor(gpu.limits.maxComputeWorkgroupsPerDimension / peak.planes),
      ...fused.map((steps) => paramCapacity(gpu, steps)),
    ),
  );
};

const segmentCache = new WeakMap<Plan, Map<string, ReadonlyArray<Segment>>>();

/** The plan's segments on this device (computed once per plan, device and fuse option). */
const segmentsOf = (plan: Plan, gpu: GpuShape, options: GpuRunOptions): ReadonlyArray<Segment> => {
  let byKey = segmentCache.get(plan);
  if (!byKey) segmentCache.set(plan, byKey = new Map());
  const key = `${gpu.adapter}:${options.fuse}:${gpu.software}`;
  let segments = byKey.get(key);
  if (!segments) byKey.set(key, segments = planSegments(plan, gpu, options.fuse));
  return segments;
};

/** An input read and parsed (on this thread or a worker): its upload, or why it could not be prepared. */
export interface PreparedInput {
  readonly input: InputFile;
  /** `performance.now()` when its work began (for the ledger's `ms`). */
  readonly started: number;
  readonly upload: Exit.Exit<Upload, unknown>;
}

/** Reads one file and runs the plan's source stage over it (its `prepare` when it has one). */
const fileUpload = Effect.fnUntraced(function* (plan: Plan, input: InputFile, fs: FileSystem.FileSystem) {
  const source = plan.source.stage;
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
});

/**
 * Reads and parses one input with the plan's source stage (what a worker does before the GPU takes it); a
 * group of files (`group: series`) becomes the image its source stage makes of them.
 */
export const prepareInput = Effect.fnUntraced(
  function* (plan: Plan, input: InputFile, fs: FileSystem.FileSystem) {
    const started = performance.now();
    const upload = yield* Effect.exit(
      isGroupInput(input)
        ? groupUpload(plan, input.group)
        : fileUpload(plan, input, fs).pipe(providePlugins(plan)) as Effect.Effect<Upload, unknown>,
    );
    return { input, started, upload };
  },
);

/** The outcome of running some inputs on the GPU. */
export interface GpuChunkResult {
  readonly entries: ReadonlyArray<LedgerEntry>;
  /** Inputs to run on the CPU path instead (with the reason). */
  readonly fallback: ReadonlyArray<{ readonly input: InputFile; readonly reason: string }>;
  /** Set when the device was lost: every later input should run on the CPU. */
  readonly deviceLost?: string;
}

/** The error of a failed batch, if any. */
const errorOf = (exit: Exit.Exit<void, unknown>) => {
  if (Exit.isSuccess(exit)) return undefined;
  const e = Cause.findErrorOption(exit.cause);
  return e._tag === "Some" ? e.value as { _tag?: string; code?: string; message?: string } : undefined;
};

/** Resets items to their state before a batch ran (outputs rolled back), to run them again. */
const resetItems = (batch: ReadonlyArray<Item>) =>
  Effect.forEach(batch, (it) =>
    Effect.map(it.session.rollback, () => {
      it.failed = undefined;
      it.fallback = undefined;
      it.cpu = undefined;
      it.header = it.upload.image;
    }), { discard: true });

/** A promise that opens once. */
class Gate {
  #open!: () => void;
  readonly opened = new Promise<void>((resolve) => (this.#open = resolve));
  open(): void {
    this.#open();
  }
}

/**
 * Runs inputs through a plan on the GPU, batch by batch, as they are added. Create one per run (or per
 * round of inputs); {@link add} each prepared input, then {@link finish} for the entries in input order.
 */
export class GpuRun {
  readonly #entries = new Map<InputFile, LedgerEntry>();
  readonly #order: InputFile[] = [];
  readonly #groups = new Map<string, Item[]>();
  readonly #flights: Array<
    { readonly batch: Item[]; readonly fiber: Fiber.Fiber<Exit.Exit<void, unknown>> }
  > = [];
  readonly #fallback: Array<{ readonly input: InputFile; readonly reason: string }> = [];
  readonly #segments: ReadonlyArray<Segment>;
  /** The turn of the batch launched last (opened by the next launch's first submission, or by finish). */
  #lastTurn: Gate | undefined;
  #deviceLost: string | undefined;

  /**
   * @param onEntry called with each input's ledger entry as soon as it is final (its batch landed), so the
   *   run can journal it at once rather than when every batch is done
   */
  constructor(
    private readonly plan: Plan,
    private readonly gpu: GpuShape,
    private readonly pool: BufferPool,
    private readonly outDir: string,
    private readonly options: GpuRunOptions = DEFAULT_GPU_OPTIONS,
    private readonly onEntry?: (input: InputFile, entry: LedgerEntry) => void,
  ) {
    this.#segments = segmentsOf(plan, gpu, options);
  }

  /** Records an input's final entry. */
  #finished(input: InputFile, entry: LedgerEntry): void {
    this.#entries.set(input, entry);
    this.onEntry?.(input, entry);
  }

  /** Takes one prepared input: its batch is launched when full. */
  add(p: PreparedInput): Effect.Effect<void, never, FileSystem.FileSystem> {
    return GpuRun.#addBody(this, p);
  }

  static readonly #addBody = Effect.fnUntraced(function* (self: GpuRun, p: PreparedInput) {
    self.#order.push(p.input);
    const session = yield* openSession(p.input, self.outDir);
    if (Exit.isFailure(p.upload)) {
      const entry = yield* finishSession(session, p.upload, self.plan.source.label, p.started);
      self.#finished(p.input, entry);
      return;
    }
    const upload = p.upload.value;
    const item: Item = { session, started: p.started, upload, header: upload.image };
    const key = batchKey(upload);
    const group = [...(self.#groups.get(key) ?? []), item];
    if (group.length < batchCapacity(self.gpu, self.plan, upload.image.shape, self.options)) {
      self.#groups.set(key, group);
      return;
    }
    self.#groups.delete(key);
    yield* self.#launch(group);
  });

  /** Runs what is left and waits for every batch; the entries come in the order inputs were added. */
  finish(): Effect.Effect<GpuChunkResult> {
    return GpuRun.#finishBody(this);
  }

  static readonly #finishBody = Effect.fnUntraced(function* (self: GpuRun) {
    const rest = [...self.#groups.values()];
    self.#groups.clear();
    for (const batch of rest) yield* self.#launch(batch);
    self.#lastTurn?.open(); // no batch comes after the last one
    while (self.#flights.length > 0) yield* self.#land();
    const entries = self.#order.flatMap((input) => {
      const e = self.#entries.get(input);
      return e ? [e] : [];
    });
    return {
      entries,
      fallback: self.#fallback,
      ...(self.#deviceLost ? { deviceLost: self.#deviceLost } : {}),
    };
  });

  /**
   * Starts a batch in its own fiber (its uploads and kernels are queued at once), then lands the oldest
   * batches beyond `inFlight`: the batch before this one maps its results once this one has submitted.
   */
  #launch(batch: Item[]): Effect.Effect<void> {
    return GpuRun.#launchBody(this, batch);
  }

  static readonly #launchBody = Effect.fnUntraced(function* (self: GpuRun, batch: Item[]) {
    if (self.#deviceLost) return yield* self.#toCpu(batch, self.#deviceLost);
    const before = self.#lastTurn;
    const mine = new Gate();
    self.#lastTurn = mine;
    const turn: BatchTurn = { submitted: () => before?.open(), wait: Effect.promise(() => mine.opened) };
    const run = Effect.exit(self.#runSplitting(batch, turn)).pipe(
      Effect.ensuring(Effect.sync(turn.submitted)),
    );
    const fiber = yield* Effect.forkChild(run, { startImmediately: true });
    self.#flights.push({ batch, fiber });
    while (self.#flights.length > Math.max(1, self.options.inFlight ?? 1)) yield* self.#land();
  });

  /** Waits for the oldest batch and records its inputs' outcomes. */
  #land(): Effect.Effect<void> {
    return GpuRun.#landBody(this);
  }

  static readonly #landBody = Effect.fnUntraced(function* (self: GpuRun) {
    const { batch, fiber } = self.#flights.shift()!;
    const exit = yield* Fiber.join(fiber);
    const error = errorOf(exit);
    if (error?._tag === "GpuDeviceLost") self.#deviceLost ??= error.message ?? "GPU device lost";
    if (Exit.isFailure(exit)) {
      // Any GPU failure (out of memory even for one image, a kernel that does not compile, a lost device,
      // a defect) sends the whole batch to the CPU path: inputs are never lost to the GPU.
      const reason = error?._tag === "GpuDeviceLost"
        ? self.#deviceLost!
        : error?.code
        ? `${error.code}: ${error.message}`
        : `GPU failure: ${String(Cause.squash(exit.cause))}`;
      return yield* self.#toCpu(batch, reason);
    }
    yield* self.#record(batch);
  });

  /** Hands a batch's inputs to the CPU path (their outputs rolled back). */
  #toCpu(batch: ReadonlyArray<Item>, reason: string): Effect.Effect<void> {
    return Effect.forEach(batch, (it) =>
      Effect.map(it.session.rollback, () => {
        this.#fallback.push({ input: it.session.input, reason });
      }), { discard: true });
  }

  /** Ledger entries of a finished batch (or CPU fallbacks for items the GPU forms could not take). */
  #record(batch: ReadonlyArray<Item>): Effect.Effect<void> {
    return GpuRun.#recordBody(this, batch);
  }

  static readonly #recordBody = Effect.fnUntraced(function* (self: GpuRun, batch: ReadonlyArray<Item>) {
    for (const it of batch) {
      if (it.fallback && !it.failed) {
        yield* self.#toCpu([it], it.fallback);
        continue;
      }
      const result = it.failed ? Exit.fail(it.failed.error) : Exit.void;
      const final = it.cpu ? attachPredictions(self.plan.stages, { ...it.header, data: it.cpu }) : undefined;
      const entry = yield* finishSession(it.session, result, it.failed?.stage ?? "", it.started, final);
      self.#finished(it.session.input, entry);
    }
  });

  /** Runs a batch; on out-of-memory splits it in half (down to single images) and tries again. */
  #runSplitting(batch: Item[], turn: BatchTurn): Effect.Effect<void, GpuError | CodedError> {
    const ctx = { plan: this.plan, gpu: this.gpu, pool: this.pool, segments: this.#segments };
    return Effect.catchIf(
      new GpuBatchRun(ctx, batch, turn).run(),
      (e) => (e as { _tag?: string })._tag === "GpuOutOfMemory" && batch.length > 1,
      () => GpuRun.#runSplittingBody(this, batch, turn),
    );
  }

  static readonly #runSplittingBody = Effect.fnUntraced(
    function* (self: GpuRun, batch: Item[], turn: BatchTurn) {
      yield* resetItems(batch);
      self.pool.clear();
      const half = Math.ceil(batch.length / 2);
      yield* self.#runSplitting(batch.slice(0, half), turn);
      yield* self.#runSplitting(batch.slice(half), turn);
    },
  );
}

/**
 * Runs prepared inputs through `plan` on the GPU (the entry for inputs read and parsed elsewhere, e.g. on
 * worker threads). Entries come back in input order; inputs that must run on the CPU instead are listed in
 * `fallback` (their outputs were rolled back).
 */
export const runPreparedGpu = Effect.fnUntraced(
  function* (
    plan: Plan,
    gpu: GpuShape,
    pool: BufferPool,
    prepared: ReadonlyArray<PreparedInput>,
    outDir: string,
    options: GpuRunOptions = DEFAULT_GPU_OPTIONS,
  ) {
    const run = new GpuRun(plan, gpu, pool, outDir, options);
    for (const p of prepared) yield* run.add(p);
    return yield* run.finish();
  },
);

/** Inputs read ahead of the one being added (their reads overlap; parsing stays on this thread). */
export const READ_AHEAD = 8;

/**
 * Reads, parses and runs `inputs` through `plan` on the GPU; the next batch is read and parsed while the
 * GPU runs the previous one, its files read a few at a time. Entries come back in input order; inputs
 * that must run on the CPU instead are listed in `fallback` (their outputs were rolled back).
 */
export const runInputsGpu = Effect.fnUntraced(
  function* (
    plan: Plan,
    gpu: GpuShape,
    pool: BufferPool,
    inputs: ReadonlyArray<InputFile>,
    outDir: string,
    fs: FileSystem.FileSystem,
    options: GpuRunOptions = DEFAULT_GPU_OPTIONS,
  ) {
    const run = new GpuRun(plan, gpu, pool, outDir, options);
    const ahead: Array<Fiber.Fiber<PreparedInput>> = [];
    let next = 0;
    while (next < inputs.length || ahead.length > 0) {
      while (ahead.length < READ_AHEAD && next < inputs.length) {
        ahead.push(yield* Effect.forkChild(prepareInput(plan, inputs[next++], fs)));
      }
      yield* run.add(yield* Fiber.join(ahead.shift()!));
    }
    return yield* run.finish();
  },
);

/** Compiles every fused kernel form a plan can use, so WGSL errors surface before any input is read. */
export const precompile = (plan: Plan, gpu: GpuShape): Effect.Effect<void, WgslCompileError> =>
  Effect.forEach(
    planSegments(plan, gpu, false).flatMap((s) => (s.kind === "fused" ? [s.steps] : [])),
    (steps) =>
      pipelineFor(gpu, fusedProgram(gpu, { load: F32_LOAD, steps, lanes: 1, channels: [1, 1], fixed: [] })),
    { discard: true },
  );
