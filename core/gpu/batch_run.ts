/**
 * One batch through a plan on the GPU: {@link GpuBatchRun} holds where the batch's values are (raw words
 * as uploaded, f32 on the GPU, or on the CPU after a readback) and runs the plan's segments
 * (core/gpu/segments.ts) in order, each a small method.
 *
 * - Each item's raw words (or floats) are written into one upload buffer, image i at `i * words`.
 * - A fused segment runs one kernel (core/gpu/fuse.ts) with each image's field values; a stage's `values`
 *   failing with `CpuFallback` marks the item for the CPU path, any other failure fails the item.
 * - A kernel segment hands the batch to the stage's kernel runner; data stays on the GPU.
 * - A CPU segment reads the batch back once (when the GPU copy is newer) and runs the stage per image (or
 *   as one `runBatch`); when it returns its images unchanged (as writers do) the GPU copy stays current.
 *   A CPU stage that changes shapes (a model's output, say) keeps the rest of the batch on the CPU.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { runStageOnCpu, type StageOutcome } from "../cpu-stage.ts";
import type { CodedError } from "../errors.ts";
import type { Plan } from "../planner.ts";
import type { Session } from "../session.ts";
import { headerAfter, type Upload } from "../stage.ts";
import type { Image, Shape } from "../tensor.ts";
import { frameHeader, withChannels } from "../elementwise.ts";
import { type GpuBatch, imageLength } from "./batch.ts";
import type { GpuError, GpuShape } from "./device.ts";
import { type ImageValues, type ItemValues, type LoadSpec, loadSpecOf, runFused } from "./fuse.ts";
import { flushCommands, submitPending, writeBuffer } from "./commands.ts";
import { submitReadBack } from "./kernels.ts";
import type { BufferPool } from "./pool.ts";
import type { ChainStep, Placed, Segment } from "./segments.ts";

/** One input in a GPU batch. */
export interface Item {
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

/** Items that still run (neither failed nor sent to the CPU path). */
export const activeItems = (items: ReadonlyArray<Item>): Item[] =>
  items.filter((it) => !it.failed && !it.fallback);

/** Applies a CPU stage's outcomes to its items; true when some stage returned new data. */
export const applyOutcomes = (
  items: ReadonlyArray<Item>,
  outcomes: ReadonlyArray<StageOutcome>,
  stage: string,
): boolean => {
  let changed = false;
  items.forEach((it, k) => {
    const o = outcomes[k];
    if (!o.ok) {
      it.failed = { error: o.error, stage };
      return;
    }
    const { data, ...header } = o.image;
    if (data !== it.cpu) changed = true;
    it.header = header;
    it.cpu = data;
  });
  return changed;
};

/** Runs `stages[from..]` on the CPU for items whose current values are on the CPU. */
export const runRestOnCpu = Effect.fnUntraced(
  function* (plan: Plan, items: ReadonlyArray<Item>, from: number) {
    for (const s of plan.stages.slice(from)) {
      const act = activeItems(items);
      if (act.length === 0) return;
      const images = act.map((it) => ({ ...it.header, data: it.cpu! }));
      applyOutcomes(act, yield* runStageOnCpu(plan, s, images, act.map((it) => it.session)), s.label);
    }
  },
);

/** How a fused kernel reads an upload's pixels. */
export const uploadLoad = (u: Upload): LoadSpec => loadSpecOf(u.pixels, u.image.shape[1] ?? 1);

/** 32-bit words one image of `upload`'s shape and pixels occupies in an upload buffer. */
export const uploadWords = (upload: Upload): number =>
  upload.pixels.type === "f32" ? upload.pixels.data.length : Math.ceil(upload.pixels.bytes.length / 4);

/** Writes `bytes` at byte `offset` of `buffer` (a tail shorter than a word is padded with zeros). */
const writeBytes = (gpu: GpuShape, buffer: GPUBuffer, offset: number, bytes: Uint8Array) => {
  const whole = bytes.length & ~3;
  if (whole > 0) writeBuffer(gpu, buffer, offset, bytes.subarray(0, whole));
  if (whole < bytes.length) {
    const tail = new Uint8Array(4);
    tail.set(bytes.subarray(whole));
    writeBuffer(gpu, buffer, offset + whole, tail);
  }
};

/** Where a batch's data is: raw upload (words), or f32 on the GPU. */
type Location =
  | { readonly at: "upload"; readonly buffer: GPUBuffer; readonly load: LoadSpec; readonly words: number }
  | { readonly at: "gpu"; readonly buffer: GPUBuffer };

/**
 * When a batch may map its results. Mapping waits for the GPU (on Deno's WebGPU, blocking this thread),
 * so a batch maps only once the batch launched after it has submitted its own work: the GPU then runs
 * that one while this thread reads back and writes this one.
 */
export interface BatchTurn {
  /** Called when this batch has submitted work (the batch before it may map now). */
  readonly submitted: () => void;
  /** Waits until this batch may map. */
  readonly wait: Effect.Effect<void>;
}

/** What every batch of a run shares. */
export interface BatchContext {
  readonly plan: Plan;
  readonly gpu: GpuShape;
  readonly pool: BufferPool;
  readonly segments: ReadonlyArray<Segment>;
}

/** An item that leaves the fused chain: to the CPU (`CpuFallback`), or failed at the stage. */
const dropItem = (it: Item, label: string, failure: unknown): undefined => {
  const e = failure as { _tag?: string; message?: string };
  if (e._tag === "CpuFallback") it.fallback = `${label}: ${e.message}`;
  else it.failed = { error: failure, stage: label };
  return undefined;
};

/** One batch of same-shape, same-format items through the plan's segments. */
export class GpuBatchRun {
  #loc: Location | undefined;
  #shape: Shape;
  /** True when the GPU copy is current (false after a CPU stage changed the data). */
  #gpuCurrent = true;
  /** Until this batch's first map: when it may map (see {@link BatchTurn}). */
  #turn: BatchTurn | undefined;

  constructor(
    private readonly ctx: BatchContext,
    private readonly items: ReadonlyArray<Item>,
    turn?: BatchTurn,
  ) {
    this.#shape = items[0].header.shape;
    this.#turn = turn;
  }

  /** Runs every segment; items end ok, failed or marked for the CPU path. Frees the batch's buffers. */
  run(): Effect.Effect<void, GpuError | CodedError> {
    return GpuBatchRun.#runBody(this).pipe(Effect.ensuring(Effect.sync(() => {
      // Whatever is still recorded (a plan ending on the GPU) goes to the GPU now.
      submitPending(this.ctx.gpu);
      this.#turn?.submitted();
      this.#release();
    })));
  }

  static readonly #runBody = Effect.fnUntraced(function* (self: GpuBatchRun) {
    yield* self.#upload();
    for (const seg of self.ctx.segments) {
      if (activeItems(self.items).length === 0) break;
      if (seg.kind === "fused") yield* self.#fused(seg.steps);
      else if (seg.kind === "kernel") yield* self.#kernel(seg.placed, seg.gpu);
      else if ((yield* self.#cpu(seg.placed, seg.index)) === "stop") break;
    }
  });

  /** Writes every item's words (or floats) into one buffer, image i at word `i * words`. */
  #upload(): Effect.Effect<void, GpuError> {
    return GpuBatchRun.#uploadBody(this);
  }

  static readonly #uploadBody = Effect.fnUntraced(function* (self: GpuBatchRun) {
    const { gpu, pool } = self.ctx;
    const words = uploadWords(self.items[0].upload);
    const buffer = yield* pool.acquire(words * 4 * self.items.length, "upload");
    self.items.forEach((it, i) => {
      const px = it.upload.pixels;
      const bytes = px.type === "f32"
        ? new Uint8Array(px.data.buffer, px.data.byteOffset, px.data.byteLength)
        : px.bytes;
      writeBytes(gpu, buffer, i * words * 4, bytes.subarray(0, words * 4));
    });
    self.#loc = { at: "upload", buffer, load: uploadLoad(self.items[0].upload), words };
  });

  #release(): void {
    if (this.#loc) this.ctx.pool.release(this.#loc.buffer);
    this.#loc = undefined;
  }

  /** Moves the batch to the GPU as f32: unpacks raw words, or uploads values a CPU stage changed. */
  #toGpuF32(): Effect.Effect<GPUBuffer, GpuError> {
    return GpuBatchRun.#toGpuF32Body(this);
  }

  static readonly #toGpuF32Body = Effect.fnUntraced(function* (self: GpuBatchRun) {
    if (self.#loc?.at === "upload") yield* self.#fused([]);
    if (!self.#gpuCurrent) yield* self.#reupload();
    return self.#loc!.buffer;
  });

  /** Uploads the items' CPU values (same shape as the batch). */
  #reupload(): Effect.Effect<void, GpuError> {
    return GpuBatchRun.#reuploadBody(this);
  }

  static readonly #reuploadBody = Effect.fnUntraced(function* (self: GpuBatchRun) {
    const len = imageLength(self.#shape);
    const buffer = yield* self.ctx.pool.acquire(len * self.items.length * 4, "reupload");
    self.items.forEach((it, i) => {
      if (it.cpu) writeBuffer(self.ctx.gpu, buffer, i * len * 4, it.cpu.subarray(0, len));
    });
    self.#release();
    self.#loc = { at: "gpu", buffer };
    self.#gpuCurrent = true;
  });

  /** Each active item's field values for a chain, in stage order; items that fail drop out. */
  #chainValues(steps: ReadonlyArray<ChainStep>): Effect.Effect<Array<ItemValues | undefined>> {
    return GpuBatchRun.#chainValuesBody(this, steps);
  }

  static readonly #chainValuesBody = Effect.fnUntraced(
    function* (self: GpuBatchRun, steps: ReadonlyArray<ChainStep>) {
      const values: Array<ItemValues | undefined> = [];
      for (const it of self.items) {
        values.push(it.failed || it.fallback ? undefined : yield* self.#itemValues(it, steps));
      }
      return values;
    },
  );

  /**
   * One item's field values for a chain, advancing its header step by step (undefined when it drops): each
   * frame's when a step asks for values per frame (`KernelValues.perFrame`).
   */
  #itemValues(it: Item, steps: ReadonlyArray<ChainStep>): Effect.Effect<ItemValues | undefined> {
    return GpuBatchRun.#itemValuesBody(this, it, steps);
  }

  static readonly #itemValuesBody = Effect.fnUntraced(
    function* (self: GpuBatchRun, it: Item, steps: ReadonlyArray<ChainStep>) {
      const start = it.header;
      const values: Array<Readonly<Record<string, number>>> = [];
      let perFrame = false;
      for (const s of steps) {
        const r = yield* Effect.result(s.gpu.values(s.params, it.header));
        if (r._tag === "Failure") return dropItem(it, s.label, r.failure);
        perFrame ||= r.success.perFrame === true;
        values.push(r.success.values);
        it.header = headerAfter(
          s.stage,
          it.header,
          self.#shapeAfter(s, it.header, self.#shape),
          r.success.notes,
        );
      }
      if (!perFrame) return values;
      const frames: ImageValues[] = [];
      for (let f = 0; f < start.shape[0]; f++) {
        const own = yield* self.#frameValues(it, steps, frameHeader(start, f));
        if (!own) return undefined;
        frames.push(own);
      }
      return { frames };
    },
  );

  /** The shape of an image after step `s` (its channels), from `shape` (the batch's, or a frame's). */
  #shapeAfter(s: ChainStep, header: Omit<Image, "data">, shape: Shape): Shape {
    const channels = shape.length > 1 ? header.shape[1] : 1;
    return withChannels(shape, s.gpu.channels?.(s.params, channels) ?? channels);
  }

  /** One frame's field values for a chain, from a header of that frame alone (undefined when it drops). */
  #frameValues(it: Item, steps: ReadonlyArray<ChainStep>, header: Omit<Image, "data">) {
    return GpuBatchRun.#frameValuesBody(this, it, steps, header);
  }

  static readonly #frameValuesBody = Effect.fnUntraced(
    function* (self: GpuBatchRun, it: Item, steps: ReadonlyArray<ChainStep>, first: Omit<Image, "data">) {
      let header = first;
      const values: Array<Readonly<Record<string, number>>> = [];
      for (const s of steps) {
        const r = yield* Effect.result(s.gpu.values(s.params, header));
        if (r._tag === "Failure") return dropItem(it, s.label, r.failure);
        if (r.success.perFrame) {
          it.fallback = `${s.label}: a frame's header still asks for values per frame`;
          return undefined;
        }
        values.push(r.success.values);
        header = headerAfter(s.stage, header, self.#shapeAfter(s, header, first.shape), r.success.notes);
      }
      return values as ImageValues;
    },
  );

  /** A fused chain (possibly empty: load only); the batch ends as f32 on the GPU. */
  #fused(steps: ReadonlyArray<ChainStep>): Effect.Effect<void, GpuError> {
    return GpuBatchRun.#fusedBody(this, steps);
  }

  static readonly #fusedBody = Effect.fnUntraced(
    function* (self: GpuBatchRun, steps: ReadonlyArray<ChainStep>) {
      if (self.#loc?.at === "gpu" && !self.#gpuCurrent) yield* self.#reupload();
      const loc = self.#loc!;
      const values = yield* self.#chainValues(steps);
      const input = loc.at === "upload"
        ? { buffer: loc.buffer, load: loc.load, words: loc.words }
        : { buffer: loc.buffer, load: { kind: "f32" } as const, words: imageLength(self.#shape) };
      const out = yield* runFused(
        self.ctx.gpu,
        self.ctx.pool,
        {
          ...input,
          shape: self.#shape,
          count: self.items.length,
        },
        steps,
        values,
      );
      self.#moveTo(out.buffer, out.shape);
    },
  );

  /** The batch's data is now `buffer` (f32, `shape` per image); the CPU copies are stale. */
  #moveTo(buffer: GPUBuffer, shape: Shape): void {
    this.#release();
    this.#loc = { at: "gpu", buffer };
    this.#shape = shape;
    for (const it of this.items) it.cpu = undefined;
  }

  /** A stage's own kernels over the batch. */
  #kernel(
    placed: Placed,
    form: NonNullable<Placed["stage"]["gpu"]>,
  ): Effect.Effect<void, GpuError | CodedError> {
    return GpuBatchRun.#kernelBody(this, placed, form);
  }

  static readonly #kernelBody = Effect.fnUntraced(
    function* (self: GpuBatchRun, placed: Placed, form: NonNullable<Placed["stage"]["gpu"]>) {
      const buffer = yield* self.#toGpuF32();
      const { gpu, pool } = self.ctx;
      if (!form.recordsOnly) {
        yield* flushCommands(gpu);
        self.#turn?.submitted();
      }
      const images = self.items.map((it) => it.header);
      const batch: GpuBatch = { gpu, pool, buffer, shape: self.#shape, count: self.items.length, images };
      const out = yield* form.run(placed.params, batch);
      for (const it of activeItems(self.items)) {
        const meta = form.meta?.(placed.params, it.header) ?? it.header.meta;
        const notes = form.notes?.(placed.params, it.header);
        it.header = { ...headerAfter(placed.stage, it.header, out.shape, notes), meta };
      }
      // The stage gave its input buffer back to the pool (or returned it); only the output is ours now.
      self.#loc = { at: "gpu", buffer: out.buffer };
      self.#shape = out.shape;
      for (const it of self.items) it.cpu = undefined;
    },
  );

  /** Reads the batch back when the GPU copy is newer than the items' CPU values. */
  #readBack(): Effect.Effect<void, GpuError> {
    return GpuBatchRun.#readBackBody(this);
  }

  static readonly #readBackBody = Effect.fnUntraced(function* (self: GpuBatchRun) {
    if (activeItems(self.items).every((it) => it.cpu)) return; // the CPU copies are current
    const buffer = yield* self.#toGpuF32();
    const len = imageLength(self.#shape);
    const pending = yield* submitReadBack(self.ctx.gpu, buffer, len * self.items.length * 4);
    const turn = self.#turn;
    self.#turn = undefined;
    if (turn) {
      turn.submitted();
      yield* turn.wait;
    }
    const all = yield* pending.read;
    self.items.forEach((it, k) => (it.cpu = all.subarray(k * len, (k + 1) * len)));
  });

  /** A stage without a GPU form; "stop" when the rest of the batch went on on the CPU. */
  #cpu(placed: Placed, index: number): Effect.Effect<"next" | "stop", GpuError> {
    return GpuBatchRun.#cpuBody(this, placed, index);
  }

  static readonly #cpuBody = Effect.fnUntraced(function* (self: GpuBatchRun, placed: Placed, index: number) {
    yield* self.#readBack();
    const act = activeItems(self.items);
    const images: Image[] = act.map((it) => ({ ...it.header, data: it.cpu! }));
    const outcomes = yield* runStageOnCpu(self.ctx.plan, placed, images, act.map((it) => it.session));
    if (applyOutcomes(act, outcomes, placed.label)) self.#gpuCurrent = false;
    // A CPU stage that changed shapes (e.g. a model's output): the rest of self batch stays on the CPU.
    const shapes = new Set(activeItems(self.items).map((it) => it.header.shape.join()));
    if (!self.#gpuCurrent && (shapes.size > 1 || [...shapes][0] !== self.#shape.join())) {
      yield* runRestOnCpu(self.ctx.plan, activeItems(self.items), index + 1);
      return "stop";
    }
    return "next";
  });
}
