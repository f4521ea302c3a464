/**
 * Fusion on the CPU, as on the GPU: the elementwise stages right after the source run as one pass.
 *
 * - Over integer stored values (raw words, BitsStored <= 16) the chain becomes one lookup table over the
 *   whole stored range (`rescale ∘ window ∘ ...`, at most 65,536 entries), built once per distinct set of
 *   per-image values and cached; each pixel is then one table read. Values are rounded to float32 between
 *   stages, as the stage-by-stage path stores them, so the table gives the same numbers.
 * - An affine elementwise stage right after a `convex` stage (a resize, whose weights sum to 1) moves
 *   before it, into the table: `normalize(resize(x)) = resize(normalize(x))` up to float32 rounding. Its
 *   notes and kind are still applied after the resize, so the image's record reads as the pipeline does.
 * - When the first stage after the chain is convex and offers `fromLookup` (the resize), the chain's image is
 *   never made: that stage gets the stored words and the tables ({@link LookupInput}) and does its work from
 *   them (the resize looks a few rows up at a time, in cache, into the rows its width pass reads), and is
 *   skipped afterwards. Hoisted steps are settled on its result as after the stage.
 * - Anything else (floats from a codec, BitsStored > 16) runs the composed function once per value.
 *
 * An image whose stage declines the fused form (`CpuFallback`, e.g. a Modality LUT Sequence) is reported
 * as such, and the caller runs the stages one by one for it.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import { channelView, frameHeader, mapChannels, withChannels } from "../elementwise.ts";
import type { RawPixels } from "../../dicom/mod.ts";
import { failureOf } from "../cpu-stage.ts";
import { type CodedError, toCodedError } from "../errors.ts";
import type { Plan, PlannedStage } from "../planner.ts";
import {
  type AnyImageStage,
  type Elementwise,
  type KernelValues,
  type LookupInput,
  outputKind,
  type SourceFile,
  type Upload,
} from "../stage.ts";
import type { Image, TensorSpec } from "../tensor.ts";
import { freeBuffer } from "../../dicom/bytes.ts";
import { lookUp, storedRange, storedValues } from "./unpack.ts";
import { tensorBuffer } from "./tensor_pool.ts";

type Placed = PlannedStage<AnyImageStage>;

/** One stage of the fused chain. */
interface Step {
  readonly index: number;
  readonly placed: Placed;
  readonly form: Elementwise<unknown>;
  /** Moved before the convex stage: its notes and kind are applied after that stage. */
  readonly hoisted: boolean;
}

/** The shape of a plan's fused prefix. */
export interface FusedPlan {
  readonly steps: ReadonlyArray<Step>;
  /** Index (in plan.stages) of the convex stage the hoisted steps moved before, if any. */
  readonly convex?: number;
  /** Stage indices the fused chain replaces (the caller skips them). */
  readonly fused: ReadonlySet<number>;
  /** True when the first stage to read the chain's output is convex (its memory can be reused after it). */
  readonly feedsConvex: boolean;
}

/** The per-image values of each step (and where a step declined). */
type Resolved =
  | {
    readonly ok: true;
    readonly header: Omit<Image, "data">;
    readonly values: ReadonlyArray<KernelValues>;
    /** Each frame's values, when a step asked for them frame by frame (`KernelValues.perFrame`). */
    readonly frames?: ReadonlyArray<ReadonlyArray<KernelValues>>;
  }
  | { readonly ok: false; readonly fallback: string }
  | { readonly ok: false; readonly error: CodedError; readonly stage: string };

const formOf = (s: Placed): Elementwise<unknown> | undefined =>
  s.stage.elementwise && (s.stage.elementwise.applies?.(s.params) ?? true)
    ? (s.stage.elementwise as Elementwise<unknown>)
    : undefined;

/** Whether an elementwise stage changes the channel count with these params (gray widened to RGB). */
const changesChannels = (form: Elementwise<unknown>, params: unknown): boolean =>
  form.channels !== undefined && (form.channels(params, 1) !== 1 || form.channels(params, 3) !== 3);

/** Finds the fused prefix of a plan: leading elementwise stages, plus affine ones hoisted over a resize. */
export const fusedPlan = (plan: Plan): FusedPlan => {
  const steps: Step[] = [];
  const stages = plan.stages;
  const widens = (s: Step) => changesChannels(s.form, s.placed.params);
  let i = 0;
  // A stage that changes the channel count ends the chain (its successors would see other channels).
  while (i < stages.length && formOf(stages[i]) && (i === 0 || !widens(steps[i - 1]))) {
    steps.push({ index: i, placed: stages[i], form: formOf(stages[i])!, hoisted: false });
    i++;
  }
  const canHoist = steps.length === 0 || !widens(steps[steps.length - 1]);
  if (i < stages.length && stages[i].stage.convex && canHoist) {
    const convex = i;
    for (let j = i + 1; j < stages.length; j++) {
      const form = formOf(stages[j]);
      if (!form?.affine || changesChannels(form, stages[j].params)) break;
      steps.push({ index: j, placed: stages[j], form, hoisted: true });
    }
    if (steps.some((s) => s.hoisted)) {
      return { steps, convex, fused: new Set(steps.map((s) => s.index)), feedsConvex: true };
    }
  }
  const feedsConvex = stages[i]?.stage.convex === true;
  return { steps, fused: new Set(steps.map((s) => s.index)), feedsConvex };
};

/** The header after a step: its kind, channels and (unless deferred) notes. */
const headerAfter = (
  header: Omit<Image, "data">,
  step: Step,
  values: KernelValues,
  withNotes: boolean,
): Omit<Image, "data"> => {
  const channels = channelView(header.shape).channels;
  const out = step.form.channels?.(step.placed.params, channels) ?? channels;
  return {
    ...header,
    kind: outputKind(step.placed.stage, header.kind),
    shape: withChannels(header.shape, out),
    notes: withNotes && values.notes ? { ...header.notes, ...values.notes } : header.notes,
  };
};

/**
 * Resolves every step's values for one image, in order (each step sees the header the previous left; a
 * hoisted step sees the rows and columns the convex stage will give, as it would have after it).
 */
const resolve = (steps: ReadonlyArray<Step>, first: Omit<Image, "data">, convex?: TensorSpec): Resolved => {
  let header = first;
  const values: KernelValues[] = [];
  for (const step of steps) {
    if (step.hoisted && convex && header.shape.length === 4) {
      const [f, c, rows, cols] = header.shape;
      header = { ...header, shape: [f, c, convex.rows ?? rows, convex.cols ?? cols] };
    }
    const exit = Effect.runSyncExit(step.form.values(step.placed.params, header));
    if (Exit.isFailure(exit)) {
      const e = exit.cause.reasons.find((r) => r._tag === "Fail")?.error as CodedError | undefined;
      if (e?.code === "CPU_FALLBACK") return { ok: false, fallback: `${step.placed.label}: ${e.message}` };
      const error = e ?? { code: "STAGE_FAILED", message: String(exit.cause) };
      return { ok: false, error, stage: step.placed.label };
    }
    values.push(exit.value);
    header = headerAfter(header, step, exit.value, !step.hoisted);
  }
  // The image leaving the chain keeps its own rows and columns (the convex stage changes them).
  const out = { ...header, shape: withChannels(first.shape, channelView(header.shape).channels) };
  if (!values.some((v) => v.perFrame)) return { ok: true, header: out, values };
  const frames = resolveFrames(steps, first, convex);
  return frames.ok ? { ok: true, header: out, values, frames: frames.frames } : frames;
};

/** Every step's values for each frame alone (its own header: `frameHeader`), for a chain asked frame by frame. */
const resolveFrames = (
  steps: ReadonlyArray<Step>,
  first: Omit<Image, "data">,
  convex?: TensorSpec,
):
  | { readonly ok: true; readonly frames: ReadonlyArray<ReadonlyArray<KernelValues>> }
  | Exclude<Resolved, { ok: true }> => {
  const frames: Array<ReadonlyArray<KernelValues>> = [];
  for (let f = 0; f < first.shape[0]; f++) {
    const r = resolve(steps, frameHeader(first, f), convex);
    if (!r.ok) return r;
    if (r.frames) return { ok: false, fallback: `frame ${f}'s header still asks for values per frame` };
    frames.push(r.values);
  }
  return { ok: true, frames };
};

/** The composed function of the chain for output channel `c`, rounding to float32 after every stage. */
const composed = (
  steps: ReadonlyArray<Step>,
  values: ReadonlyArray<KernelValues>,
  channelsPerStep: ReadonlyArray<number>,
  c: number,
): (x: number) => number => {
  const fns = steps.map((s, j) => {
    const f = s.form.cpu(values[j].values);
    const channel = channelsPerStep[j + 1] === 1 ? 0 : c;
    return (x: number) => f(x, channel);
  });
  return (x) => {
    let v = x;
    for (const f of fns) v = Math.fround(f(v));
    return v;
  };
};

/**
 * The table of {@link composed} over `size` stored values from `min`, made a step at a time over the whole
 * table (one monomorphic loop per step; the Float32Array store is the float32 rounding after each step):
 * the same numbers, ~2x faster than calling the composed function per value, which counts when every frame
 * of an image has its own table.
 */
const composedTable = (
  steps: ReadonlyArray<Step>,
  values: ReadonlyArray<KernelValues>,
  channelsPerStep: ReadonlyArray<number>,
  c: number,
  min: number,
  size: number,
): Float32Array => {
  const t = new Float32Array(size);
  for (let k = 0; k < size; k++) t[k] = min + k;
  steps.forEach((s, j) => applyStep(t, s.form.cpu(values[j].values), channelsPerStep[j + 1] === 1 ? 0 : c));
  return t;
};

/** `t[k] = f(t[k], channel)` (stored as float32). */
const applyStep = (t: Float32Array, f: (x: number, c: number) => number, channel: number): void => {
  for (let k = 0; k < t.length; k++) t[k] = f(t[k], channel);
};

/** Channels of the image before each step and after the last. */
const channelsAlong = (steps: ReadonlyArray<Step>, first: number): number[] => {
  const out = [first];
  for (const s of steps) {
    const before = out[out.length - 1];
    out.push(s.form.channels?.(s.placed.params, before) ?? before);
  }
  return out;
};

/** What a hoisted step still owes the image after the convex stage: its kind and its notes. */
export interface Pending {
  readonly produces: AnyImageStage["produces"];
  readonly notes?: Readonly<Record<string, unknown>>;
}

/** Lookup tables of chains, by their per-image values and stored range (most series share one). */
class TableCache {
  readonly #tables = new Map<string, ReadonlyArray<Float32Array>>();

  tables(key: string, make: () => ReadonlyArray<Float32Array>): ReadonlyArray<Float32Array> {
    let t = this.#tables.get(key);
    if (!t) {
      if (this.#tables.size >= 64) this.#tables.clear();
      t = make();
      this.#tables.set(key, t);
    }
    return t;
  }
}

/** What the fused chain made of one image. */
export type FusedOutcome =
  | { readonly ok: true; readonly image: Image; readonly pending: ReadonlyArray<Pending> }
  | { readonly ok: false; readonly fallback: string }
  | { readonly ok: false; readonly error: CodedError; readonly stage: string };

/** The chain resolved for one upload, its pixels not yet touched. */
interface Ready {
  readonly ok: true;
  /** The header of the image the chain gives. */
  readonly header: Omit<Image, "data">;
  readonly values: ReadonlyArray<KernelValues>;
  /** Each frame's values, when the image's frames have their own (`KernelValues.perFrame`). */
  readonly frames?: ReadonlyArray<ReadonlyArray<KernelValues>>;
  /** Channels of the image before each step and after the last. */
  readonly channels: ReadonlyArray<number>;
  readonly pending: ReadonlyArray<Pending>;
}

/** The fused chain of a plan, ready to run on prepared uploads. */
export class FusedChain {
  readonly #cache = new TableCache();

  /**
   * @param entry index (in plan.stages) of the convex stage that first reads the chain's output, if any:
   *   the stage {@link FusedChain.enter} offers the stored words and tables to.
   */
  constructor(readonly shape: FusedPlan, readonly convexOutput?: TensorSpec, readonly entry?: number) {}

  /** The fused chain of a plan. */
  static of(plan: Plan): FusedChain {
    const shape = fusedPlan(plan);
    const entry = shape.convex ?? (shape.feedsConvex ? shape.steps.length : undefined);
    return new FusedChain(
      shape,
      shape.convex === undefined ? undefined : plan.stages[shape.convex].output,
      entry,
    );
  }

  /** Resolves every step's values for one upload (no pixel is read). */
  resolve(upload: Upload): Ready | Exclude<FusedOutcome, { ok: true }> {
    const steps = this.shape.steps;
    const convex = this.shape.convex === undefined ? undefined : this.convexOutput;
    const resolved = resolve(steps, upload.image, convex);
    if (!resolved.ok) return resolved;
    const { header, values, frames } = resolved;
    const channels = channelsAlong(steps, channelView(upload.image.shape).channels);
    const pending = steps.flatMap((step, j) =>
      step.hoisted ? [{ produces: step.placed.stage.produces, notes: values[j].notes }] : []
    );
    return { ok: true, header, values, ...(frames ? { frames } : {}), channels, pending };
  }

  /**
   * The lookup tables of the chain over the stored range of `px` (BitsStored <= 16), one per channel: with
   * the values of frame `frame` when the image's frames have their own.
   */
  tables(px: RawPixels, ready: Ready, frame?: number): ReadonlyArray<Float32Array> {
    const { channels } = ready;
    const values = frame === undefined ? ready.values : ready.frames![frame];
    const steps = this.shape.steps;
    const outChannels = channels[channels.length - 1];
    const { min, size } = storedRange(px);
    const key = `${px.bitsStored}:${px.signed}:${outChannels}:${JSON.stringify(values.map((v) => v.values))}`;
    return this.#cache.tables(
      key,
      () =>
        Array.from({ length: outChannels }, (_, c) => composedTable(steps, values, channels, c, min, size)),
    );
  }

  /**
   * The image the chain gives for a resolved upload. With `scratch`, a lookup-table chain writes into it
   * (for a convex stage to read and drop).
   */
  image(upload: Upload, ready: Ready, scratch?: Float32Array): Image {
    if (ready.frames) return { ...ready.header, data: this.#framesImage(upload, ready, scratch) };
    const steps = this.shape.steps;
    const { header, values, channels } = ready;
    const px = upload.pixels;
    const { frames, channels: samples, plane } = channelView(upload.image.shape);
    const outChannels = channels[channels.length - 1];
    let data: Float32Array;
    if (px.type === "raw" && px.bitsStored <= 16 && steps.length > 0) {
      data = lookUp(px, [frames, samples, plane], this.tables(px, ready), scratch);
    } else {
      const stored = px.type === "raw" ? storedValues(px, [frames, samples, plane]) : px.data;
      const fns = Array.from({ length: outChannels }, (_, c) => composed(steps, values, channels, c));
      data = steps.length === 0
        ? stored
        : mapChannels(stored, upload.image.shape, outChannels, (x, c) => fns[c](x));
    }
    return { ...header, data };
  }

  /** {@link image} for an image whose frames have their own values: each frame through its own tables. */
  #framesImage(upload: Upload, ready: Ready, scratch?: Float32Array): Float32Array {
    const steps = this.shape.steps;
    const { channels, frames: perFrame } = ready;
    const px = upload.pixels;
    const { frames, channels: samples, plane } = channelView(upload.image.shape);
    const outChannels = channels[channels.length - 1];
    const frameLength = outChannels * plane;
    const length = frames * frameLength;
    const out = scratch && scratch.length >= length ? scratch.subarray(0, length) : tensorBuffer(length);
    const frameOut = (f: number) => out.subarray(f * frameLength, (f + 1) * frameLength);
    if (px.type === "raw" && px.bitsStored <= 16) {
      for (let f = 0; f < frames; f++) {
        lookUp(
          frameWords(px, f, samples * plane),
          [1, samples, plane],
          this.tables(px, ready, f),
          frameOut(f),
        );
      }
      return out;
    }
    const stored = px.type === "raw" ? storedValues(px, [frames, samples, plane]) : px.data;
    for (let f = 0; f < frames; f++) {
      const fns = Array.from({ length: outChannels }, (_, c) => composed(steps, perFrame![f], channels, c));
      const into = frameOut(f);
      for (let c = 0; c < outChannels; c++) {
        const src = (f * samples + (samples === 1 ? 0 : c)) * plane;
        for (let i = 0; i < plane; i++) into[c * plane + i] = fns[c](stored[src + i]);
      }
    }
    return out;
  }

  /**
   * Runs the chain on one upload: the image the last fused step gives (hoisted notes still pending). With
   * `scratch`, a lookup-table chain writes into it (for a convex stage to read and drop).
   */
  run(upload: Upload, scratch?: Float32Array): FusedOutcome {
    const ready = this.resolve(upload);
    if (!ready.ok) return ready;
    return { ok: true, image: this.image(upload, ready, scratch), pending: ready.pending };
  }

  /**
   * The entry stage's result straight from the stored words and the chain's tables (its `fromLookup`), with
   * the hoisted steps settled; undefined when there is no such stage or it declines. A failure is a
   * {@link ChainFailure} at the entry stage.
   */
  enter(plan: Plan, upload: Upload, ready: Ready): Effect.Effect<Image | undefined, ChainFailure, unknown> {
    const placed = this.entry === undefined ? undefined : plan.stages[this.entry];
    const px = upload.pixels;
    if (!placed?.stage.fromLookup || px.type !== "raw" || px.bitsStored > 16) {
      return Effect.succeed(undefined);
    }
    if (ready.header.kind === "prediction") return Effect.succeed(undefined);
    if (ready.frames) return enterFrames(this, placed, upload, ready);
    const input: LookupInput = {
      pixels: px,
      samples: channelView(upload.image.shape).channels,
      tables: this.tables(px, ready),
      offset: px.signed ? 2 ** (px.bitsStored - 1) : 0,
      header: ready.header,
    };
    let effect: Effect.Effect<Image, unknown, unknown> | undefined;
    try {
      effect = placed.stage.fromLookup(input, placed.params);
    } catch (e) {
      return Effect.fail(new ChainFailure(e, placed.label));
    }
    if (!effect) return Effect.succeed(undefined);
    return Effect.flatMap(
      Effect.exit(effect),
      (exit) =>
        Exit.isSuccess(exit)
          ? Effect.succeed(settle(exit.value, ready.pending))
          : Effect.fail(new ChainFailure(failureOf(exit.cause), placed.label)),
    );
  }
}

/**
 * The entry stage on each frame of an image whose frames have their own values (its own words and tables,
 * the image's header with one frame), the frames' results stacked; undefined when the stage declines.
 */
const enterFrames = Effect.fnUntraced(function* (
  chain: FusedChain,
  placed: Placed,
  upload: Upload,
  ready: Ready,
) {
  const px = upload.pixels as RawPixels;
  const { frames, channels: samples, plane } = channelView(upload.image.shape);
  const header = { ...ready.header, shape: [1, ...ready.header.shape.slice(1)] };
  const results: Image[] = [];
  for (let f = 0; f < frames; f++) {
    const input: LookupInput = {
      pixels: frameWords(px, f, samples * plane),
      samples,
      tables: chain.tables(px, ready, f),
      offset: px.signed ? 2 ** (px.bitsStored - 1) : 0,
      header,
    };
    let effect: Effect.Effect<Image, unknown, unknown> | undefined;
    try {
      effect = placed.stage.fromLookup!(input, placed.params);
    } catch (e) {
      return yield* Effect.fail(new ChainFailure(e, placed.label));
    }
    if (!effect) return undefined; // declined: the same for every frame (one shape, one kind of words)
    const exit = yield* Effect.exit(effect);
    if (Exit.isFailure(exit)) {
      return yield* Effect.fail(new ChainFailure(failureOf(exit.cause), placed.label));
    }
    results.push(exit.value);
  }
  const [first] = results;
  const data = tensorBuffer(first.data.length * frames);
  results.forEach((r, f) => data.set(r.data, f * first.data.length));
  return settle({ ...first, shape: [frames, ...first.shape.slice(1)], data }, ready.pending);
});

/** Frame `f`'s stored words alone (frames are contiguous; `perFrame` samples each). */
const frameWords = (px: RawPixels, f: number, perFrame: number): RawPixels => {
  const bytes = (perFrame * px.bitsAllocated) / 8;
  return { ...px, bytes: px.bytes.subarray(f * bytes, (f + 1) * bytes) };
};

/** Applies the hoisted steps' kinds and notes to the image the convex stage returned. */
export const settle = (image: Image, pending: ReadonlyArray<Pending>): Image =>
  pending.reduce<Image>((img, p) => ({
    ...img,
    kind: outputKind(p, img.kind),
    notes: p.notes ? { ...img.notes, ...p.notes } : img.notes,
  }), image);

/** A failure of the chain (a coded error, or the entry stage's own failure), at the stage that raised it. */
export class ChainFailure extends Error {
  constructor(readonly error: unknown, readonly stage: string) {
    super(toCodedError(error).message);
  }
}

/** The image the source stage and the fused chain give for one file, and what a convex stage owes it. */
export interface Loaded {
  readonly image: Image;
  /**
   * Set when the image went through the chain: its stages are skipped, `pending` settled after convex; with
   * `through`, the entry stage (at that index) ran too, from the lookup tables, and is skipped as well.
   */
  readonly fused?: { readonly pending: ReadonlyArray<Pending>; readonly through?: number };
}

/**
 * Runs the source stage on a file, through the fused chain when there is one (`prepare`, then the chain),
 * else - or when the chain declines the image - the source stage's `run`. When the convex stage after the
 * chain takes the stored words and tables ({@link FusedChain.enter}), the chain's image is never made and
 * that stage is done too. A failure of a chain step (or of that stage) is a {@link ChainFailure} naming it.
 */
export const loadSource = Effect.fnUntraced(function* (
  plan: Plan,
  chain: FusedChain | undefined,
  file: SourceFile,
  scratch?: (upload: Upload) => Float32Array | undefined,
) {
  const source = plan.source;
  if (chain && source.stage.prepare) {
    const upload = (yield* source.stage.prepare(file, source.params)) as Upload;
    const loaded = yield* throughChain(plan, chain, upload, scratch).pipe(
      Effect.onExit((exit) =>
        Effect.sync(() => releaseUpload(upload, Exit.isSuccess(exit) ? exit.value : undefined))
      ),
    );
    if (loaded) return loaded;
    // The fused form declined this image (e.g. a Modality LUT Sequence): the stages one by one.
  }
  return { image: yield* source.stage.run(file, source.params) } satisfies Loaded;
});

/** Frees an owned upload's pixels once read, unless the image the chain gave is that memory (floats as they are). */
const releaseUpload = (upload: Upload, loaded: Loaded | undefined): void => {
  if (!upload.owned) return;
  const px = upload.pixels;
  const buffer = px.type === "raw" ? px.bytes.buffer : px.data.buffer;
  if (loaded?.image.data.buffer !== buffer) freeBuffer(buffer);
};

/** An upload through the fused chain (into its entry stage when it offers that); undefined when it declines. */
const throughChain = Effect.fnUntraced(function* (
  plan: Plan,
  chain: FusedChain,
  upload: Upload,
  scratch?: (upload: Upload) => Float32Array | undefined,
) {
  const ready = chain.resolve(upload);
  if (!ready.ok) {
    if ("error" in ready) return yield* Effect.fail(new ChainFailure(ready.error, ready.stage));
    return undefined;
  }
  const entered = yield* chain.enter(plan, upload, ready);
  if (entered) return { image: entered, fused: { pending: [], through: chain.entry } } satisfies Loaded;
  const image = chain.image(upload, ready, scratch?.(upload));
  return { image, fused: { pending: ready.pending } } satisfies Loaded;
});

/** True when stage `i` runs on its own for this image (not replaced by the chain it went through). */
export const runsAlone = (chain: FusedChain | undefined, loaded: Loaded, i: number): boolean =>
  !(loaded.fused && (chain?.shape.fused.has(i) || loaded.fused.through === i));

/** The image after stage `i`: a chain's hoisted steps are settled after the convex stage. */
export const afterStage = (chain: FusedChain | undefined, loaded: Loaded, i: number, image: Image): Image =>
  loaded.fused && chain?.shape.convex === i ? settle(image, loaded.fused.pending) : image;
