/**
 * dcmflow: DICOM studies to model-ready tensors through declarative YAML pipelines of Effect-typed stages.
 *
 * Run a pipeline file over a folder, as the CLI does:
 *
 * ```ts
 * import { runPipelinePromise } from "./mod.ts";
 *
 * const ledger = await runPipelinePromise("pipelines/ct-default.yaml", {
 *   inputs: ["samples/ct-study"],
 *   out: "out-embedded",
 * });
 * console.log(ledger.summary); // { total: 6, ok: 6, error: 0 }
 * ```
 *
 * Or keep tensors in memory, with a pipeline written inline:
 *
 * ```ts
 * import { Effect } from "effect";
 * import { readFileSync } from "node:fs";
 * import { planText, processBytes } from "./mod.ts";
 *
 * const program = Effect.gen(function* () {
 *   const plan = yield* planText(
 *     `dcmflow: 1
 * stages:
 *   - use: decode
 *   - use: rescale
 *   - use: window
 *     with: { preset: lung }
 *   - use: resize
 *     with: { width: 224, height: 224 }`,
 *     "inline.yaml",
 *   );
 *   const { image } = yield* processBytes(plan, readFileSync("samples/ct-study/slice-001.dcm"));
 *   return image.shape; // [1, 1, 224, 224]
 * });
 * console.log(await Effect.runPromise(program));
 * ```
 *
 * Third-party stages use exactly the API the built-ins use - {@link defineStage}, {@link definePlugin},
 * {@link withData}, {@link wgslFile}, the GPU kernel helpers - re-exported here from `plugin.ts`.
 *
 * @module
 */
import * as NodeServices from "@effect/platform-node/NodeServices";
import * as Effect from "effect/Effect";
import type * as FileSystem from "effect/FileSystem";
import * as api from "./core/api.ts";
import type { PipelineError } from "./core/errors.ts";
import type { Plan } from "./core/planner.ts";
import { makeRegistry, type Registry } from "./core/registry.ts";
import * as core from "./core/runtime.ts";
import type { Ledger, RunOptions } from "./core/runtime.ts";
import { builtinStages } from "./plugins/mod.ts";

/** The registry of built-in stages (portable: worker threads rebuild it from `worker.ts`). */
export const builtinRegistry = (): Registry => ({ ...makeRegistry(builtinStages), portable: true });

/** Options for {@link loadPipeline}: `--set` overrides, and the stages to plan against (the built-ins). */
export type LoadOptions = Partial<api.LoadOptions>;

const withBuiltins = (options: LoadOptions): api.LoadOptions => ({
  ...options,
  registry: options.registry ?? builtinRegistry(),
});

/** Parses and plans the pipeline in YAML text (`file` names it in messages and anchors `plugins:`). */
export const planText = (
  text: string,
  file: string,
  options: LoadOptions = {},
): Effect.Effect<Plan, PipelineError> => api.planText(text, file, withBuiltins(options));

/** Reads, parses and plans a pipeline file; every problem is a {@link PipelineError}. */
export const loadPipeline = (
  file: string,
  options: LoadOptions = {},
): Effect.Effect<Plan, PipelineError, FileSystem.FileSystem> => api.loadPipeline(file, withBuiltins(options));

/** The built-in stages plus a pipeline file's `plugins:`. */
export const loadPipelineRegistry = (file: string, base: Registry = builtinRegistry()) =>
  api.loadPipelineRegistry(file, base);

/**
 * The entry module of the worker threads: `worker.ts` beside this module (the build turns this URL into
 * the worker bundle's, `dist/worker.js`, beside `dist/mod.js`).
 */
export const WORKER_URL: URL = new URL("./worker.ts", import.meta.url);

/**
 * The self-contained entry of the worker threads, for pipelines without `plugins:`: `worker_standalone.ts`
 * (the same module; its bundle, `dist/worker_standalone.js`, carries its own copy of every package, which
 * loads faster than the shared ones).
 */
export const STANDALONE_WORKER_URL: URL = new URL("./worker_standalone.ts", import.meta.url);

/**
 * Runs a plan over `options.inputs`, writing outputs and the ledger under `options.out` (see
 * {@link RunOptions}: workers, shards, resume, abort signal). Worker threads run the CPU path unless
 * `workers: 0`.
 */
export const runPlan = (plan: Plan, options: RunOptions) =>
  core.runPlan(
    plan,
    options.workerUrl
      ? options
      : { workerUrl: WORKER_URL, standaloneWorkerUrl: STANDALONE_WORKER_URL, ...options },
  );

/** Loads a pipeline and runs it over `options.inputs`, writing outputs and the ledger under `options.out`. */
export const runPipeline = (file: string, options: RunOptions & LoadOptions) =>
  Effect.flatMap(loadPipeline(file, options), (p) => runPlan(p, options));

/** {@link runPipeline} as a Promise, with Node-compatible file system services provided. */
export const runPipelinePromise = (file: string, options: RunOptions & LoadOptions): Promise<Ledger> =>
  Effect.runPromise(runPipeline(file, options).pipe(Effect.provide(NodeServices.layer)));

/** A pipeline for {@link loadPipelinePromise}: its file, or YAML text (`file` then names it in messages). */
export interface PipelineSource extends LoadOptions {
  /** The pipeline file (read unless `text` is given); anchors relative `plugins:` and model paths. */
  readonly file: string;
  /** The pipeline's YAML text, when it is not read from `file`. */
  readonly text?: string;
}

/**
 * Loads (parses and plans) a pipeline without Effect: a file path, or `{ file, text?, overrides? }`.
 * Rejects with a {@link PipelineError} (`code`, `message`, `render()` with file:line:column).
 */
export const loadPipelinePromise = (source: string | PipelineSource): Promise<Plan> => {
  const s: PipelineSource = typeof source === "string" ? { file: source } : source;
  const plan = s.text === undefined ? loadPipeline(s.file, s) : planText(s.text, s.file, s);
  return Effect.runPromise(plan.pipe(Effect.provide(NodeServices.layer)));
};

/**
 * {@link processBytes} without Effect: one file's bytes through a plan, in memory. Resolves to the last
 * image and what `write` stages produced; rejects with the first stage's coded error.
 */
export const processBytesPromise = (p: Plan, bytes: Uint8Array, path?: string): Promise<api.ProcessedImage> =>
  Effect.runPromise(api.processBytes(p, bytes, path).pipe(Effect.provide(NodeServices.layer)));

export { processBytes, type ProcessedImage } from "./core/api.ts";
export { PipelineError, type SourceLocation } from "./core/errors.ts";
export { displayPath } from "./core/inputs.ts";
export { parsePipeline, type PipelineDecl, type StageDecl } from "./core/pipeline.ts";
export { type Plan, plan, type PlannedStage } from "./core/planner.ts";
export { makeRegistry, type Registry } from "./core/registry.ts";
export {
  type DeviceInfo,
  type Ledger,
  LEDGER_FILE,
  type LedgerEntry,
  type LedgerSummary,
  type Progress,
  type RunOptions,
  type Shard,
  type StartInfo,
} from "./core/runtime.ts";
export { isSourceStage } from "./core/stage.ts";
export { VERSION } from "./core/version.ts";
export { mergeLedgers, type MergeResult } from "./core/run/merge.ts";
export { ledgerName, parseShard } from "./core/run/names.ts";
export { Gpu, GpuLive } from "./core/gpu/device.ts";
export * from "./plugin.ts";
export * from "./dicom/mod.ts";
export * from "./plugins/mod.ts";
