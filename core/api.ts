/**
 * High-level entry points: load (parse + plan) a pipeline, run it over files, or push bytes through it in
 * memory. Effect-returning functions need the `FileSystem` service (`NodeServices.layer` from
 * `@effect/platform-node` works in Deno, Bun and Node); the `*Promise` variants provide it themselves.
 *
 * @module
 */
import { NodeServices } from "@effect/platform-node";
import { Effect, FileSystem } from "effect";
import { builtinStages } from "../plugins/mod.ts";
import { PipelineError } from "./errors.ts";
import { Output } from "./output.ts";
import { parsePipeline } from "./pipeline.ts";
import { type Plan, plan, providePlugins } from "./planner.ts";
import { makeRegistry, type Registry } from "./registry.ts";
import { type Ledger, type RunOptions, runPlan } from "./runtime.ts";
import type { Image } from "./tensor.ts";

/** The registry of built-in stages. */
export const builtinRegistry = (): Registry => makeRegistry(builtinStages);

/** Options for {@link loadPipeline}. */
export interface LoadOptions {
  /** `--set KEY=VALUE` overrides. */
  readonly overrides?: ReadonlyArray<string>;
  /** Stages to plan against (default: the built-ins); the pipeline's `plugins:` are added on top. */
  readonly registry?: Registry;
}

/** Parses and plans the pipeline in YAML text (`file` names it in messages and anchors `plugins:`). */
export const planText = (
  text: string,
  file: string,
  options: LoadOptions = {},
): Effect.Effect<Plan, PipelineError> =>
  Effect.flatMap(
    parsePipeline(text, file, options.overrides),
    (decl) => plan(decl, options.registry ?? builtinRegistry()),
  );

/** Reads, parses and plans a pipeline file; every problem is a {@link PipelineError}. */
export const loadPipeline = (
  file: string,
  options: LoadOptions = {},
): Effect.Effect<Plan, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError(() =>
        new PipelineError({ code: "PIPELINE_NOT_FOUND", message: `cannot read pipeline file ${file}` })
      ),
    );
    return yield* planText(text, file, options);
  });

/** Loads a pipeline and runs it over `options.inputs`, writing outputs and the ledger under `options.out`. */
export const runPipeline = (file: string, options: RunOptions & LoadOptions) =>
  Effect.flatMap(loadPipeline(file, options), (p) => runPlan(p, options));

/** {@link runPipeline} as a Promise, with Node-compatible file system services provided. */
export const runPipelinePromise = (file: string, options: RunOptions & LoadOptions): Promise<Ledger> =>
  Effect.runPromise(runPipeline(file, options).pipe(Effect.provide(NodeServices.layer)));

/** The result of pushing one file's bytes through a plan in memory. */
export interface ProcessedImage {
  /** The image after the last stage. */
  readonly image: Image;
  /** What `write` stages produced, by file name suffix + extension (e.g. ".npy", ".f002.png"). */
  readonly files: ReadonlyMap<string, Uint8Array>;
}

/**
 * Runs a plan's stages on one file's bytes without touching the file system: `write` stages' outputs are
 * returned in memory. Fails with the first stage's typed error.
 */
export const processBytes = (p: Plan, bytes: Uint8Array, path = "memory.dcm") => {
  const files = new Map<string, Uint8Array>();
  const output = Output.of({
    input: path,
    write: (ext, data, suffix = "") =>
      Effect.sync(() => {
        files.set(`${suffix}.${ext}`, data);
        return `${suffix}.${ext}`;
      }),
  });
  return Effect.gen(function* () {
    let image: Image = yield* p.source.stage.run({ path, bytes }, p.source.params);
    for (const s of p.stages) image = yield* s.stage.run(image, s.params);
    return { image, files } as ProcessedImage;
  }).pipe(Effect.provideService(Output, output), providePlugins(p));
};
