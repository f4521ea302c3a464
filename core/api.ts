/**
 * High-level entry points over a registry of stages: load (parse + plan) a pipeline, run it over files, or
 * push bytes through it in memory. Effect-returning functions need the `FileSystem` service
 * (`NodeServices.layer` from `@effect/platform-node` works in Deno, Bun and Node). The face (`mod.ts`)
 * binds them to the built-in stages.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as FileSystem from "effect/FileSystem";
import { concatBytes } from "../dicom/bytes.ts";
import { afterStage, ChainFailure, FusedChain, loadSource, runsAlone } from "./cpu/fused.ts";
import { imageRun } from "./elementwise.ts";
import { type CodedError, PipelineError } from "./errors.ts";
import { Output } from "./output.ts";
import { fail, parsePipeline } from "./pipeline.ts";
import { type Plan, plan, providePlugins } from "./planner.ts";
import { attachPredictions } from "./predictions.ts";
import { loadPlugins, type Registry } from "./registry.ts";
import type { Image } from "./tensor.ts";

/** Options for {@link loadPipeline}. */
export interface LoadOptions {
  /** `--set KEY=VALUE` overrides. */
  readonly overrides?: ReadonlyArray<string>;
  /** Stages to plan against; the pipeline's `plugins:` are added on top. */
  readonly registry: Registry;
}

/** Parses and plans the pipeline in YAML text (`file` names it in messages and anchors `plugins:`). */
export const planText = (
  text: string,
  file: string,
  options: LoadOptions,
): Effect.Effect<Plan, PipelineError> =>
  Effect.flatMap(parsePipeline(text, file, options.overrides), (decl) => plan(decl, options.registry));

/** Reads a pipeline file's text; a missing file is a {@link PipelineError}. */
export const readPipelineFile = (file: string): Effect.Effect<string, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    return yield* fs.readFileString(file).pipe(
      Effect.mapError(() =>
        new PipelineError({ code: "PIPELINE_NOT_FOUND", message: `cannot read pipeline file ${file}` })
      ),
    );
  });

/** Reads, parses and plans a pipeline file; every problem is a {@link PipelineError}. */
export const loadPipeline = (
  file: string,
  options: LoadOptions,
): Effect.Effect<Plan, PipelineError, FileSystem.FileSystem> =>
  Effect.flatMap(readPipelineFile(file), (text) => planText(text, file, options));

/** The registry with a pipeline file's `plugins:` loaded on top (for `dcmflow plugins PIPELINE`). */
export const loadPipelineRegistry = (
  file: string,
  base: Registry,
): Effect.Effect<Registry, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const decl = yield* parsePipeline(yield* readPipelineFile(file), file);
    return yield* loadPlugins(base, decl).pipe(Effect.catch((problems) => fail("PLUGIN_LOAD", problems)));
  });

/** The result of pushing one file's bytes through a plan in memory. */
export interface ProcessedImage {
  /** The image after the last stage. */
  readonly image: Image;
  /** What `write` stages produced, by file name suffix + extension (e.g. ".npy", ".f002.png"). */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** Rows stages gave run-level outputs (e.g. `write` with `stack: true`), by collection name. */
  readonly collected: ReadonlyMap<string, ReadonlyArray<unknown>>;
}

/**
 * Runs a plan's stages on one file's bytes without touching the file system: `write` stages' outputs are
 * returned in memory. Fails with the first stage's typed error.
 */
export const processBytes = (p: Plan, bytes: Uint8Array, path = "memory.dcm") => {
  const files = new Map<string, Uint8Array>();
  const collected = new Map<string, unknown[]>();
  const output = Output.of({
    input: path,
    write: (ext, data, suffix = "") =>
      Effect.sync(() => {
        files.set(`${suffix}.${ext}`, data instanceof Uint8Array ? data : concatBytes(data));
        return `${suffix}.${ext}`;
      }),
    append: (name, row) => Effect.sync(() => void collected.set(name, [...(collected.get(name) ?? []), row])),
  });
  const chain = chainOf(p);
  return Effect.gen(function* () {
    const loaded = yield* loadSource(p, chain, { path, bytes }).pipe(
      Effect.mapError((e) => (e instanceof ChainFailure ? e.error : e)),
    );
    let image: Image = loaded.image;
    for (const [i, s] of p.stages.entries()) {
      if (!runsAlone(chain, loaded, i)) continue;
      const input = attachPredictions(p.stages.slice(0, i), image);
      image = afterStage(chain, loaded, i, yield* imageRun(s.stage)(input, s.params));
    }
    return { image: attachPredictions(p.stages, image), files, collected } as ProcessedImage;
  }).pipe(Effect.provideService(Output, output), providePlugins(p)) as Effect.Effect<
    ProcessedImage,
    CodedError
  >;
};

const chains = new WeakMap<Plan, FusedChain | undefined>();

/** The fused chain of a plan, made once (none when its source stage cannot prepare raw values). */
const chainOf = (p: Plan): FusedChain | undefined => {
  if (!chains.has(p)) chains.set(p, p.source.stage.prepare ? FusedChain.of(p) : undefined);
  return chains.get(p);
};
