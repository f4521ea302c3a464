/**
 * The stage registry: built-in stages plus those of the plugin modules a pipeline loads.
 *
 * A `plugins:` entry is a path (`./my_stage.ts`, relative to the pipeline file; TypeScript or JavaScript),
 * an npm package name (`dcmflow-plugin-clip`, `@lab/stages/ct`: resolved from the pipeline file's folder
 * through `node_modules`), or a URL-like specifier imported as written (`npm:x`, `jsr:@x/y`, `file:`,
 * `https:`). A plugin whose stages were made with another copy of `effect` than dcmflow's is refused,
 * naming both copies: two copies of Schema cannot check each other's parameters.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type * as Layer from "effect/Layer";
import * as Schema from "effect/Schema";
import { existsSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { findPackage, resolvePackage } from "./resolve.ts";
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

/** Where a `plugins:` entry was found: the URL to import, and the file (for messages and `effect`'s copy). */
type Located = { readonly url: string; readonly path?: string } | { readonly problem: string };

const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();

/** Resolves one `plugins:` entry from the pipeline file's folder. */
export const locatePlugin = (spec: string, pipelineDir: string): Located => {
  if (/^[a-z][a-z0-9+.-]+:/i.test(spec) && !isAbsolute(spec)) return { url: spec };
  const asPath = isAbsolute(spec) ? spec : resolve(pipelineDir, spec);
  // A bare name is a path only when it names a file: a folder of that name beside the pipeline (a plugin
  // package's own sources, installed into node_modules with `npm install ./NAME`) is not importable itself.
  if (spec.startsWith(".") || isAbsolute(spec) || isFile(asPath)) {
    return { url: pathToFileURL(asPath).href, path: asPath };
  }
  const found = resolvePackage(spec, pipelineDir);
  if ("problem" in found) {
    return {
      problem:
        `${found.problem} (install it in the pipeline's project: npm install ${spec}, or write a path: ./${spec})`,
    };
  }
  return { url: pathToFileURL(found.path).href, path: found.path };
};

/** The prototype every Schema AST node of dcmflow's own copy of `effect` inherits from. */
const AST_BASE: object = Object.getPrototypeOf(Object.getPrototypeOf(Schema.Finite.ast));

/** Whether a stage's `params` is a Schema of another copy of `effect`. */
const hasForeignSchema = (stage: Stage): boolean => {
  const ast = (stage.params as { ast?: unknown }).ast;
  return typeof ast === "object" && ast !== null && !Object.prototype.isPrototypeOf.call(AST_BASE, ast);
};

/** "4.1.0 at /p/node_modules/effect" for the copy of `effect` seen from `dir`. */
const effectCopy = (dir: string | undefined): string => {
  const found = dir === undefined ? undefined : findPackage("effect", dir);
  return found ? `${found.manifest.version} at ${found.dir}` : "location unknown";
};

/** The message for a plugin built with another copy of `effect` (undefined when there is none). */
const effectCopyProblem = (plugin: Plugin, spec: string, path: string | undefined): string | undefined => {
  if (!plugin.stages.some(hasForeignSchema)) return undefined;
  const ours = effectCopy(dirname(fileURLToPath(import.meta.url)));
  const theirs = effectCopy(path === undefined ? undefined : dirname(path));
  return `plugin "${spec}" uses another copy of effect (${theirs}) than dcmflow (${ours}): one copy of Schema ` +
    `cannot check parameters made with another. Use one copy: make effect a peerDependency of the plugin ` +
    `(not a dependency), then reinstall or run npm dedupe so both resolve to the same node_modules/effect`;
};

/** Imports one plugin module and reads its stages, or says why it cannot. */
const loadPlugin = (spec: string, pipelineDir: string): Effect.Effect<Plugin, string> =>
  Effect.gen(function* () {
    const located = locatePlugin(spec, pipelineDir);
    if ("problem" in located) return yield* Effect.fail(`cannot load plugin "${spec}": ${located.problem}`);
    const mod = yield* Effect.tryPromise({
      try: () => import(located.url) as Promise<Record<string, unknown>>,
      catch: (e) =>
        `cannot load plugin "${spec}" (${located.path ?? located.url}): ${
          e instanceof Error ? e.message.split("\n")[0] : String(e)
        }`,
    });
    const plugin = pluginFromModule(mod, spec);
    if (typeof plugin === "string") return yield* Effect.fail(plugin);
    const copy = effectCopyProblem(plugin, spec, located.path);
    return copy === undefined ? plugin : yield* Effect.fail(copy);
  });

/**
 * Loads the pipeline's `plugins:` modules (paths relative to the pipeline file, or packages found from its
 * folder) on top of `base`. Every failing module is reported at its line in the pipeline file.
 */
export const loadPlugins = (
  base: Registry,
  pipeline: PipelineDecl,
): Effect.Effect<Registry, ReadonlyArray<Problem>> =>
  Effect.gen(function* () {
    const stages = new Map(base.stages);
    const layers = [...base.layers];
    const problems: Problem[] = [];
    const pipelineDir = dirname(resolve(pipeline.file));
    for (const [i, spec] of pipeline.plugins.entries()) {
      const location = pipeline.locate(["plugins", i]);
      const loaded = yield* Effect.result(loadPlugin(spec, pipelineDir));
      if (loaded._tag === "Failure") {
        problems.push({ message: loaded.failure, location });
        continue;
      }
      const plugin = loaded.success;
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
