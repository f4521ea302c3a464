/**
 * The stage registry: built-in stages plus those of the plugin modules a pipeline loads.
 *
 * @module
 */
import { Effect, type Layer } from "effect";
import { dirname, isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Problem } from "./pipeline.ts";
import type { PipelineDecl } from "./pipeline.ts";
import type { Plugin, Stage } from "./stage.ts";

/** A registered stage and where it came from ("built-in" or the plugin module path). */
export interface RegisteredStage {
  readonly stage: Stage;
  readonly origin: string;
}

/** Stages by name, plus the Layers their plugins provide. */
export interface Registry {
  readonly stages: ReadonlyMap<string, RegisteredStage>;
  // deno-lint-ignore no-explicit-any
  readonly layers: ReadonlyArray<Layer.Layer<any, any, any>>;
  /**
   * True when a worker thread can rebuild this registry: its base is the built-in stages (which the worker
   * entry has) and the rest came from plugin modules it can import again. A registry made of stage objects
   * handed to `makeRegistry` runs on the calling thread.
   */
  readonly portable?: boolean;
}

/** A registry holding only the given stages (e.g. the built-ins). */
export const makeRegistry = (stages: ReadonlyArray<Stage>, origin = "built-in"): Registry => ({
  stages: new Map(stages.map((stage) => [stage.name, { stage, origin }])),
  layers: [],
});

const isStage = (s: unknown): s is Stage =>
  typeof s === "object" && s !== null && typeof (s as Stage).name === "string" &&
  (typeof (s as Stage).run === "function" ||
    typeof (s as { elementwise?: unknown }).elementwise === "object") &&
  "params" in s && "accepts" in s;

/** Reads a plugin module's exports: `export default definePlugin({...})`, or named `stages` (+ `layer`). */
const pluginFromModule = (mod: Record<string, unknown>, spec: string): Plugin | string => {
  const candidate = (mod.default ?? mod) as Partial<Plugin> & Record<string, unknown>;
  const stages = candidate.stages;
  if (!Array.isArray(stages) || stages.length === 0) {
    return `plugin "${spec}" exports no stages: export default definePlugin({ name, stages: [...] })`;
  }
  const bad = stages.findIndex((s) => !isStage(s));
  if (bad >= 0) {
    return `plugin "${spec}": stages[${bad}] is not a stage (needs name, params, accepts and run or elementwise)`;
  }
  return { name: typeof candidate.name === "string" ? candidate.name : spec, stages, layer: candidate.layer };
};

/**
 * Loads the pipeline's `plugins:` modules (paths relative to the pipeline file) on top of `base`.
 * Every failing module is reported at its line in the pipeline file.
 */
export const loadPlugins = (
  base: Registry,
  pipeline: PipelineDecl,
): Effect.Effect<Registry, ReadonlyArray<Problem>> =>
  Effect.gen(function* () {
    const stages = new Map(base.stages);
    const layers = [...base.layers];
    const problems: Problem[] = [];
    for (const [i, spec] of pipeline.plugins.entries()) {
      const location = pipeline.locate(["plugins", i]);
      const path = isAbsolute(spec) ? spec : resolve(dirname(resolve(pipeline.file)), spec);
      const loaded = yield* Effect.tryPromise({
        try: () => import(pathToFileURL(path).href) as Promise<Record<string, unknown>>,
        catch: (e) => (e instanceof Error ? e.message.split("\n")[0] : String(e)),
      }).pipe(Effect.result);
      if (loaded._tag === "Failure") {
        problems.push({ message: `cannot load plugin "${spec}" (${path}): ${loaded.failure}`, location });
        continue;
      }
      const plugin = pluginFromModule(loaded.success, spec);
      if (typeof plugin === "string") {
        problems.push({ message: plugin, location });
        continue;
      }
      for (const stage of plugin.stages) {
        const existing = stages.get(stage.name);
        if (existing) {
          problems.push({
            message:
              `plugin "${spec}" defines stage "${stage.name}", already defined by ${existing.origin}; rename one`,
            location,
          });
          continue;
        }
        stages.set(stage.name, { stage, origin: spec });
      }
      if (plugin.layer) layers.push(plugin.layer);
    }
    return problems.length > 0
      ? yield* Effect.fail(problems)
      : { stages, layers, ...(base.portable ? { portable: true } : {}) };
  });
