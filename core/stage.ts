/**
 * The plugin API: a stage is a plain object.
 *
 * ```ts
 * import { Effect, Schema } from "effect";
 * import { defineStage, withData } from "dcmflow";
 *
 * export const gamma = defineStage({
 *   name: "gamma",
 *   description: "Raise display values to a power.",
 *   params: Schema.Struct({ gamma: Schema.Finite }),
 *   accepts: ["display"],
 *   produces: "same",
 *   run: (image, { gamma }) => Effect.sync(() => withData(image, image.data.map((v) => v ** gamma))),
 * });
 * ```
 *
 * - `params` is an Effect Schema; the planner decodes each stage's `with:` block with it before anything
 *   runs, and reports problems at their YAML line and column.
 * - `accepts`/`produces` are tensor {@link Kind}s; `plan` (optional) refines the tensor spec (shape) so that
 *   mismatches are found at plan time.
 * - `run` is an Effect: its error channel holds typed failures with a `code` (they become ledger entries),
 *   its requirements are services provided by Layers (the runtime provides {@link Output}; a plugin module
 *   may export a `layer` for its own services).
 *
 * - `gpu` (optional) is the stage's WebGPU form: an elementwise WGSL function (fused with its neighbours) or
 *   a kernel runner. The runtime decides where each stage runs; pipelines never change.
 *
 * @module
 */
import type * as Effect from "effect/Effect";
import type * as Layer from "effect/Layer";
import type * as Result from "effect/Result";
import type * as Schema from "effect/Schema";
import type { AnyCollection } from "./collect.ts";
import type { CodedError, CpuFallback } from "./errors.ts";
import type { GpuBatch } from "./gpu/batch.ts";
import type { GpuError, GpuShape } from "./gpu/device.ts";
import type { FramePrediction } from "./predictions.ts";
import type { ImageMeta, RawPixels } from "../dicom/meta.ts";
import type { Image, Kind, TensorSpec } from "./tensor.ts";
import type { WgslSource } from "./wgsl.ts";

/**
 * One unit of work made of several files (e.g. a series): what a source stage's
 * {@link SourceGroup.partition} returns. JSON-serializable, so it can travel to a worker or a journal.
 */
export interface FileGroup {
  /**
   * Unique among the groups of one partition, and safe in a file name (no `/`): it names the group's
   * outputs, `DIR/<the members' common folder>/<key>.<ext>` (e.g. the SeriesInstanceUID).
   */
  readonly key: string;
  /** Paths of the member files, in the order `runGroup` wants them. */
  readonly members: ReadonlyArray<string>;
  /** Remarks for the run ledger (e.g. a split, a copy left out, irregular spacing). */
  readonly warnings: ReadonlyArray<string>;
  /** Set when the group cannot be processed: it becomes an error entry of the ledger, and nothing runs. */
  readonly error?: { readonly code: string; readonly message: string };
  /** What the source stage needs back in `runGroup` (e.g. the slice order); opaque to the runtime. */
  readonly detail?: unknown;
}

/**
 * Grouping of input files (`group: series` in the pipeline): the runtime scans every file, lets the
 * source stage partition them, and runs each group as one input whose image `runGroup` makes.
 */
export interface SourceGroup<P, E extends CodedError = CodedError, R = never> {
  /** The names accepted by the pipeline's `group:` key besides `file` (e.g. ["series"]). */
  readonly modes: ReadonlyArray<string>;
  /** What grouping needs from one file (a small JSON-serializable record, no pixel data). */
  readonly scan: (file: SourceFile, params: P) => Effect.Effect<unknown, E, R>;
  /** Groups the scanned files (given in input order, each with the record `scan` returned). */
  readonly partition: (
    scanned: ReadonlyArray<{ readonly path: string; readonly record: unknown }>,
    params: P,
    mode: string,
  ) => ReadonlyArray<FileGroup>;
  /** The image of one group, from its member files (in `group.members` order). */
  readonly runGroup: (
    files: ReadonlyArray<SourceFile>,
    group: FileGroup,
    params: P,
  ) => Effect.Effect<Image, E, R>;
}

/** The raw input of a source stage. */
export interface SourceFile {
  /** Path as given or walked. */
  readonly path: string;
  readonly bytes: Uint8Array;
}

/**
 * A source stage's stored values before unpacking: the file's raw words (unpacked by dcmflow's fused CPU
 * path and by shaders/unpack.wgsl on the GPU), or values already decoded (compressed syntaxes, colour
 * models, float pixel data).
 */
export interface Upload {
  readonly image: Omit<Image, "data">;
  readonly pixels: RawPixels | { readonly type: "f32"; readonly data: Float32Array };
  /**
   * The pixels' buffer belongs to this upload alone (e.g. a codec's output): the CPU path frees it once it has
   * read it (unless the image it gives is that memory), rather than leave it to the garbage collector, which
   * lets tens of megabytes of such buffers pile up per thread. Unset for pixels that are views of other
   * memory (a file's bytes in a reused read buffer).
   */
  readonly owned?: true;
}

/** Per-image values of an elementwise function's fields, plus what the stage records about the image. */
export interface KernelValues {
  readonly values: Readonly<Record<string, number>>;
  readonly notes?: Readonly<Record<string, unknown>>;
  /**
   * The image's frames have values of their own (an enhanced multi-frame object's per-frame functional
   * groups: `ImageMeta.frameRescale` / `frameVoi`), so `values` are not the image's. The runtime then asks
   * `values` again for each frame, with a header of that frame alone (`frameMeta`: one frame, its own slope
   * and windows), applies each frame's, and keeps these `notes` for the image (the GPU's fused kernel
   * reads its parameters per frame for such a batch).
   */
  readonly perFrame?: boolean;
}

/**
 * An elementwise stage: `y = f(x, c)` on every value (`c`: the channel), with per-image field values. Its
 * decisions are made once, in `values`, and used by both forms of the function:
 * - `cpu`: the function in TypeScript. The CPU path fuses consecutive elementwise stages into one pass (one
 *   lookup table over the stored values when they are integers), and the reference the GPU is tested
 *   against.
 * - `shader` + `entry`: the same function in WGSL, `fn ENTRY(x: f32, c: u32, p: ENTRYParams) -> f32`.
 *   Consecutive elementwise stages are fused into one kernel (core/gpu/fuse.ts); the struct `ENTRYParams`
 *   is generated from `fields` (all f32) and `constants` are emitted as WGSL `const`s, so no value is
 *   written twice.
 *
 * A stage with an elementwise form needs no `run`: the runtime applies `cpu` with the image's `values`.
 */
export interface Elementwise<P, E extends CodedError = CodedError> {
  /** The WGSL: `wgslFile(import.meta.url, "./NAME.wgsl")` (read on first use), or `wgslText(code, name)`. */
  readonly shader: WgslSource;
  readonly entry: string;
  readonly fields: ReadonlyArray<string>;
  readonly constants?: Readonly<Record<string, number>>;
  /**
   * Fields that choose a variant of the function (a VOI function, an inversion flag) rather than carry a
   * continuous value: when every image of a GPU batch has the same value, the fused kernel is generated
   * with it as a constant, so no per-value branch on it remains (the kernel's cache key names the value).
   */
  readonly choices?: ReadonlyArray<string>;
  /** Output channels when the stage changes them (gray replicated to RGB: output channel c reads input 0). */
  readonly channels?: (params: P, inputChannels: number) => number;
  /**
   * The field values (and notes) for one image; it may fail for one image, like `run`. Failing with
   * `CpuFallback` sends the image to the stage's `run` instead (e.g. a lookup-table Modality LUT).
   */
  readonly values: (params: P, image: Omit<Image, "data">) => Effect.Effect<KernelValues, E | CpuFallback>;
  /** The function in TypeScript, given the image's field values (the WGSL function's twin). */
  readonly cpu: (values: Readonly<Record<string, number>>) => (x: number, c: number) => number;
  /**
   * True when the function is affine in `x` for each channel (`a·x + b`): it then commutes with a resize
   * whose weights sum to 1, and the CPU path may apply it before such a resize, inside its lookup table.
   */
  readonly affine?: boolean;
  /** Whether to use the GPU form for these params on this device (default: always). */
  readonly enabled?: (params: P, gpu: GpuShape) => boolean;
  /**
   * Whether the stage is elementwise at all with these params (default: always). When not (e.g. `normalize`
   * with `mode: minmax`, which depends on the values), it is never fused: it runs as `run` on the CPU and as
   * its `gpu` kernel form on the GPU.
   */
  readonly applies?: (params: P) => boolean;
}

/**
 * The image a fused chain of elementwise stages would give, not yet made: its stored words and one lookup
 * table per output channel (what {@link ImageStage.fromLookup} reads instead of the image).
 *
 * Output channel `c` of frame `f` (planar `[frames, channels, rows, cols]`, `plane = rows * cols`) reads
 * the stored sample `s = samples === 1 ? 0 : c` of every pixel: with `p.planar === 1` (or one sample) the
 * word at index `(f * samples + s) * plane + i`, with interleaved samples the word at
 * `(f * plane + i) * samples + s`. A word is `p.bitsAllocated` bits, little endian unless `p.byteSwap`, at
 * byte `index * p.bitsAllocated / 8` of `p.bytes`. Its value is `tables[c][index]` with
 *
 *     index = ((word >>> p.shift) & (2 ** p.bitsStored - 1)) ^ offset
 *
 * where `offset` is `2 ** (p.bitsStored - 1)` for signed pixels and 0 otherwise (the table starts at the
 * smallest stored value; each table has at least `2 ** p.bitsStored` entries).
 */
export interface LookupInput {
  /** The raw stored words. `p.bytes` is a view into a reused read buffer: valid only during the call. */
  readonly pixels: RawPixels;
  /** Stored samples per pixel (1, or 3 for colour). */
  readonly samples: number;
  /** One table per output channel (the header's channels); cached and shared across images: read only. */
  readonly tables: ReadonlyArray<Float32Array>;
  /** The table index of stored value 0 for signed pixels (`2 ** (bitsStored - 1)`), else 0. */
  readonly offset: number;
  /** The header of the image this input stands for (the image `run` would have been given). */
  readonly header: Omit<Image, "data">;
}

/** GPU form of any other image stage: runs its own kernels on a batch (see core/gpu/batch.ts). */
export interface KernelGpu<P, E extends CodedError = CodedError> {
  readonly kind: "kernel";
  readonly run: (params: P, batch: GpuBatch) => Effect.Effect<GpuBatch, E | GpuError>;
  /** What the stage records about each image (as its CPU `run` does in `notes`). */
  readonly notes?: (params: P, image: Omit<Image, "data">) => Readonly<Record<string, unknown>>;
  /**
   * True when `run` uses the device only through `dispatch`, the buffer helpers and the batch's pool (its
   * own queue work, if any, goes through `submitPending` first): the kernels recorded before it then need
   * not be submitted before it runs, and with `dispatch(..., { defer: true })` its passes join them in one
   * submission. Otherwise (the default: a stage that submits work itself, or hands buffers to another
   * library such as onnxruntime) the recorded kernels are submitted first.
   */
  readonly recordsOnly?: boolean;
  /** The image's metadata after the stage, when the stage changes it (as its CPU `run` does). */
  readonly meta?: (params: P, image: Omit<Image, "data">) => ImageMeta;
  /** Whether to use this GPU form for these params on this device (default: always). */
  readonly enabled?: (params: P, gpu: GpuShape) => boolean;
}

/** What `setup` knows about the pipeline. */
export interface SetupContext {
  /** Folder of the pipeline file: relative paths in params (models, label files) resolve against it. */
  readonly pipelineDir: string;
  /** The pipeline's `name:` (default: its file name without extension), e.g. to name a run-level output. */
  readonly pipelineName: string;
}

/** Fields shared by every stage. */
interface StageBase<P> {
  /** Name used in `use:`; lowercase, letters, digits, `-` and `_`. */
  readonly name: string;
  /** One line for `dcmflow plugins` and the README. */
  readonly description: string;
  /** Schema of the `with:` block; decoded once per run, before any input is read. */
  readonly params: Schema.Decoder<P>;
  /** Examples of `with:` blocks, shown by `dcmflow plugins`. */
  readonly examples?: ReadonlyArray<Readonly<Record<string, unknown>>>;
}

/** A stage that turns a file into an image (e.g. `decode`). It must be the first stage. */
export interface SourceStage<P = unknown, E extends CodedError = CodedError, R = never> extends StageBase<P> {
  readonly accepts: "file";
  /** Kind of the image it produces. */
  readonly produces: Kind;
  /** Plan-time spec of what it produces (dimensions it can know from the params alone). */
  readonly plan?: (params: P) => TensorSpec | string;
  readonly run: (file: SourceFile, params: P) => Effect.Effect<Image, E, R>;
  /**
   * Optional: the image's stored values before unpacking (raw words, or decoded floats), for the fused CPU
   * and GPU paths; `run` stays the reference.
   */
  readonly prepare?: (file: SourceFile, params: P) => Effect.Effect<Upload, E, R>;
  /** Optional: grouping of files into one image (see {@link SourceGroup}). */
  readonly group?: SourceGroup<P, E, R>;
}

/** A stage from image to image (including sinks such as `write`, which return their input). */
export interface ImageStage<P = unknown, E extends CodedError = CodedError, R = never> extends StageBase<P> {
  /** Kinds of image this stage accepts. */
  readonly accepts: ReadonlyArray<Kind>;
  /** Kind it produces, or "same" to keep the input's kind. */
  readonly produces: Kind | "same";
  /**
   * Plan-time refinement: given the params and the incoming spec, the outgoing spec, or a message saying
   * why this input cannot work (reported as a pipeline error at the stage's `use:` line).
   */
  readonly plan?: (params: P, input: TensorSpec) => TensorSpec | string;
  /** File extensions this stage writes for the given params (the planner refuses two stages writing one). */
  readonly writes?: (params: P) => ReadonlyArray<string>;
  /**
   * Run-level outputs this stage appends rows to (e.g. `write` with `stack: true`: one file for the whole
   * run). The runtime opens them before the first input; `Output.append(name, row)` in `run` stages a row,
   * appended in input order once the input succeeds; the runtime finishes them after the last input (see
   * core/collect.ts).
   */
  readonly collects?: (params: P) => ReadonlyArray<AnyCollection>;
  /** The stage on the CPU (optional for elementwise stages: their `cpu` function is applied). */
  readonly run?: (image: Image, params: P) => Effect.Effect<Image, E, R>;
  /** Elementwise stages: the function, fused on the CPU and the GPU (see {@link Elementwise}). */
  readonly elementwise?: Elementwise<P, E>;
  /**
   * True when every output value is a combination of input values of the same channel whose weights sum
   * to 1 (resampling): an affine elementwise stage after it gives the same values before it. Such a stage
   * returns new data and keeps no reference to its input's (the CPU path reuses that memory afterwards).
   */
  readonly convex?: boolean;
  /**
   * Optional, for a `convex` stage right after a fused chain of elementwise stages on the CPU: the stage's
   * result computed straight from the stored words and the chain's lookup tables (see {@link LookupInput}),
   * without the looked-up image being made. It must equal `run` on the looked-up image exactly (same data,
   * same header); it returns `undefined` to decline (the looked-up image is then made and `run` given it).
   * No `Output` is provided.
   */
  readonly fromLookup?: (input: LookupInput, params: P) => Effect.Effect<Image, E, R> | undefined;
  /**
   * Optional: process the images of several inputs at once (e.g. along a model's batch axis). The runtime
   * gathers up to `batchSize(params)` inputs and calls this instead of `run`; each image gets its own
   * result, so one bad image does not fail the others. No `Output` is provided to batch calls.
   */
  readonly runBatch?: (
    images: ReadonlyArray<Image>,
    params: P,
  ) => Effect.Effect<ReadonlyArray<Result.Result<Image, E>>, E, R>;
  /** Inputs per `runBatch` call (default 1: `run` per image). */
  readonly batchSize?: (params: P) => number;
  /**
   * Optional one-time preparation after the params are decoded and before planning (e.g. loading a model
   * to check its inputs). Fails with a message, or a coded error whose code becomes the pipeline error's
   * (e.g. MODEL_NOT_FOUND), reported at the stage's line.
   */
  readonly setup?: (params: P, context: SetupContext) => Effect.Effect<P, string | CodedError>;
  /**
   * How to read this stage's output as predictions (e.g. the best class per frame), for `write json`, the
   * ledger and the CLI's summary. The runtime applies the most recent stage's `summarize` that returns
   * something to the image before every CPU stage and at the end of each input.
   */
  readonly summarize?: (image: Image, params: P) => ReadonlyArray<FramePrediction> | undefined;
  /** Facts for the run ledger's `pipeline.stages[i].info` (e.g. the inference provider chosen and why). */
  readonly report?: (params: P) => Readonly<Record<string, unknown>> | undefined;
  /**
   * Optional GPU kernels (elementwise stages need none: their WGSL is fused); stages without a GPU form
   * run on the CPU, with a readback before them.
   */
  readonly gpu?: KernelGpu<P, E>;
}

/** A source stage of any parameter type and requirements (as held by registries and plans). */
// deno-lint-ignore no-explicit-any
export type AnySourceStage = SourceStage<any, CodedError, any>;
/** An image stage of any parameter type and requirements (as held by registries and plans). */
// deno-lint-ignore no-explicit-any
export type AnyImageStage = ImageStage<any, CodedError, any>;
/** Any stage. */
export type Stage = AnySourceStage | AnyImageStage;

/** Identity helper that checks a stage definition's types (params flow from the Schema into `run`). */
export function defineStage<P, E extends CodedError = never, R = never>(
  stage: SourceStage<P, E, R>,
): SourceStage<P, E, R>;
export function defineStage<P, E extends CodedError = never, R = never>(
  stage: ImageStage<P, E, R>,
): ImageStage<P, E, R>;
export function defineStage(stage: Stage): Stage {
  if (!/^[a-z][a-z0-9_-]*$/.test(stage.name)) {
    throw new TypeError(`stage name "${stage.name}" must be lowercase letters, digits, "-" or "_"`);
  }
  if (!isSourceStage(stage) && !stage.run && !stage.elementwise) {
    throw new TypeError(`stage "${stage.name}" needs a run function or an elementwise form`);
  }
  return stage;
}

/** The kind of a stage's output for an input of kind `input` (`produces`, or the input's for "same"). */
export const outputKind = (stage: { readonly produces: Kind | "same" }, input: Kind): Kind =>
  stage.produces === "same" ? input : stage.produces;

/** An image's header after `stage` ran on it: the stage's kind, the new shape, the stage's notes added. */
export const headerAfter = (
  stage: { readonly produces: Kind | "same" },
  header: Omit<Image, "data">,
  shape: Image["shape"],
  notes?: Readonly<Record<string, unknown>>,
): Omit<Image, "data"> => ({
  ...header,
  kind: outputKind(stage, header.kind),
  shape,
  notes: notes ? { ...header.notes, ...notes } : header.notes,
});

/** True when `stage` reads files (a source stage). */
export const isSourceStage = (stage: Stage): stage is AnySourceStage => stage.accepts === "file";

/** What a plugin module exports (as its default export, or as named `stages` and optional `layer`). */
export interface Plugin {
  readonly name: string;
  readonly stages: ReadonlyArray<Stage>;
  /** Services the plugin's stages need, provided once per run. */
  // deno-lint-ignore no-explicit-any
  readonly layer?: Layer.Layer<any, any, any>;
}

/** Identity helper for plugin modules: `export default definePlugin({ name, stages: [...] })`. */
export const definePlugin = (plugin: Plugin): Plugin => plugin;
