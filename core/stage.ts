/**
 * The plugin API: a stage is a plain object.
 *
 * ```ts
 * import { Effect, Schema } from "effect";
 * import { defineStage, withData } from "dcmflow/mod.ts";
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
 * Further optional fields (a GPU kernel, for instance) can be added to a stage later without changing how a
 * stage is used: the runtime decides where `run` executes.
 *
 * @module
 */
import type { Effect, Layer, Schema } from "effect";
import type { CodedError } from "./errors.ts";
import type { Image, Kind, TensorSpec } from "./tensor.ts";

/** The raw input of a source stage. */
export interface SourceFile {
  /** Path as given or walked. */
  readonly path: string;
  readonly bytes: Uint8Array;
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
  readonly run: (image: Image, params: P) => Effect.Effect<Image, E, R>;
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
  return stage;
}

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
