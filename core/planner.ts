/**
 * The planner: checks the whole pipeline before any input is read.
 *
 * Like unified's "check everything before running": every stage name is resolved (misspellings get a
 * suggestion), every `with:` block is decoded by its stage's Schema, and the tensor kind and shape are
 * carried from stage to stage so that an impossible order (a window before the Modality LUT, a second
 * writer of the same file type, ...) is a pipeline error at its line, with every problem reported at once.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Schema from "effect/Schema";
import { dirname, resolve } from "node:path";
import type { PlannedCollection } from "./collect.ts";
import { PipelineError, type SourceLocation } from "./errors.ts";
import { fail, type PipelineDecl, type Problem, schemaProblems, type StageDecl } from "./pipeline.ts";
import { loadPlugins, type Registry } from "./registry.ts";
import { type AnyImageStage, type AnySourceStage, isSourceStage, outputKind, type Stage } from "./stage.ts";
import { formatSpec, type Kind, type TensorSpec } from "./tensor.ts";
import { didYouMean } from "./suggest.ts";

/** A stage with its decoded parameters and the tensor specs around it. */
export interface PlannedStage<S extends Stage = Stage> {
  readonly decl: StageDecl;
  readonly stage: S;
  readonly params: unknown;
  /** Label for messages and the ledger: the id, else `use`. */
  readonly label: string;
  readonly output: TensorSpec;
}

/** A checked, ready-to-run pipeline. */
export interface Plan {
  readonly pipeline: PipelineDecl;
  readonly source: PlannedStage<AnySourceStage>;
  readonly stages: ReadonlyArray<PlannedStage<AnyImageStage>>;
  /** File extensions the pipeline writes per input. */
  readonly writes: ReadonlyArray<string>;
  /** Run-level outputs the stages collect rows into (see core/collect.ts). */
  readonly collections: ReadonlyArray<PlannedCollection>;
  // deno-lint-ignore no-explicit-any
  readonly layers: ReadonlyArray<Layer.Layer<any, any, any>>;
  readonly registry: Registry;
  /** Non-fatal remarks (e.g. a pipeline that writes nothing). */
  readonly warnings: ReadonlyArray<string>;
}

/** What to add before a stage that got the wrong kind of values. */
const KIND_HINT: Partial<Record<Kind, string>> = {
  modality: "add `- use: rescale` before it (Modality LUT: stored values -> e.g. Hounsfield units)",
  display: "add `- use: window` before it (VOI LUT: modality values -> display range)",
};

const describeKind: Record<Kind, string> = {
  stored: "stored pixel values",
  modality: "modality values (after rescale)",
  display: "display values (after window)",
  features: "model features (after normalize)",
  prediction: "model outputs (after infer)",
};

/** Decodes a stage's `with:` block with its Schema; problems are located in the pipeline file. */
const decodeParams = (
  stage: Stage,
  decl: StageDecl,
  pipeline: PipelineDecl,
): { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly problems: Problem[] } => {
  const exit = Schema.decodeUnknownExit(stage.params)(decl.with, {
    errors: "all",
    onExcessProperty: "error",
  });
  if (exit._tag === "Success") return { ok: true, value: exit.value };
  const err = exit.cause.reasons.find((r) => r._tag === "Fail")?.error as Schema.SchemaError | undefined;
  if (!err) {
    const location = pipeline.locate(["stages", decl.index]);
    return { ok: false, problems: [{ message: `stage "${decl.use}": invalid parameters`, location }] };
  }
  const keys = Schema.toJsonSchemaDocument(stage.params).schema.properties;
  const problems = schemaProblems(
    err.issue,
    ["stages", decl.index, "with"],
    pipeline.locate,
    (p) => (p.length === 3 && keys ? Object.keys(keys) : undefined),
  ).map((p) => ({ ...p, message: `stage "${decl.use}": ${p.message}` }));
  return { ok: false, problems };
};

/** A stage name resolved and its `with:` block decoded (params may still be changed by `setup`). */
interface Resolved {
  readonly decl: StageDecl;
  readonly stage: Stage;
  params: unknown;
}

/** Every stage resolved by name and its params decoded; all problems at once. */
const resolveStages = (
  pipeline: PipelineDecl,
  registry: Registry,
): Effect.Effect<Resolved[], PipelineError> => {
  const problems: Problem[] = [];
  let code: PipelineError["code"] = "PLAN_MISMATCH";
  const resolved: Resolved[] = [];
  for (const decl of pipeline.stages) {
    const entry = registry.stages.get(decl.use);
    if (!entry) {
      code = "UNKNOWN_STAGE";
      problems.push({
        message: `unknown stage "${decl.use}".${didYouMean(decl.use, registry.stages.keys())} Known stages: ${
          [...registry.stages.keys()].join(", ")
        } (see \`dcmflow plugins\`).`,
        location: pipeline.locate(["stages", decl.index, "use"]),
      });
      continue;
    }
    const params = decodeParams(entry.stage, decl, pipeline);
    if (!params.ok) {
      if (code !== "UNKNOWN_STAGE") code = "INVALID_PARAMS";
      problems.push(...params.problems);
      continue;
    }
    resolved.push({ decl, stage: entry.stage, params: params.value });
  }
  return problems.length > 0 ? fail(code, problems) : Effect.succeed(resolved);
};

/** One-time preparation (e.g. loading a model) before shapes are planned; failures are located. */
const runSetups = (pipeline: PipelineDecl, resolved: ReadonlyArray<Resolved>) =>
  Effect.gen(function* () {
    const problems: Problem[] = [];
    let code: PipelineError["code"] = "STAGE_SETUP";
    const context = { pipelineDir: dirname(resolve(pipeline.file)), pipelineName: pipeline.name };
    for (const r of resolved) {
      if (isSourceStage(r.stage) || !r.stage.setup) continue;
      const prepared = yield* Effect.result(r.stage.setup(r.params, context));
      if (prepared._tag === "Success") {
        r.params = prepared.success;
        continue;
      }
      const f = prepared.failure;
      if (typeof f !== "string" && problems.length === 0) code = f.code;
      problems.push({
        message: `stage "${r.decl.use}": ${typeof f === "string" ? f : `${f.code}: ${f.message}`}`,
        location: pipeline.locate(["stages", r.decl.index, "use"]),
      });
    }
    if (problems.length > 0) return yield* fail(code, problems);
  });

const labelOf = (decl: StageDecl) => decl.id ?? decl.use;

/** The source stage planned: it must read files, and offer the pipeline's grouping. */
const planSource = (
  pipeline: PipelineDecl,
  registry: Registry,
  first: Resolved,
): Effect.Effect<PlannedStage<AnySourceStage>, PipelineError> => {
  const location = pipeline.locate(["stages", first.decl.index, "use"]);
  if (!isSourceStage(first.stage)) {
    const sources = [...registry.stages.values()].filter((r) => isSourceStage(r.stage)).map((r) =>
      r.stage.name
    );
    return fail("PLAN_MISMATCH", [{
      message: `the first stage must read files (${sources.join(", ")}); "${first.decl.use}" takes images. ` +
        "Start the pipeline with `- use: decode`.",
      location,
    }]);
  }
  const spec = first.stage.plan?.(first.params) ??
    { kind: first.stage.produces, frames: null, channels: null, rows: null, cols: null };
  if (typeof spec === "string") return fail("PLAN_MISMATCH", [{ message: spec, location }]);
  const grouping = groupingProblem(pipeline, first.stage);
  if (grouping) return fail("PLAN_MISMATCH", [grouping]);
  const planned = { decl: first.decl, stage: first.stage, params: first.params, label: labelOf(first.decl) };
  return Effect.succeed({ ...planned, output: spec });
};

/** The image stages planned in order: kinds carried, specs refined, writers and collections checked. */
class StageChain {
  readonly problems: Problem[] = [];
  readonly stages: PlannedStage<AnyImageStage>[] = [];
  readonly writes = new Map<string, string>();
  readonly collections: PlannedCollection[] = [];
  #spec: TensorSpec;
  #prev: string;

  constructor(readonly pipeline: PipelineDecl, source: PlannedStage<AnySourceStage>) {
    this.#spec = source.output;
    this.#prev = source.label;
  }

  /** Plans the next stage after the ones so far. */
  add({ decl, stage, params }: Resolved): void {
    const location = this.pipeline.locate(["stages", decl.index, "use"]);
    if (isSourceStage(stage)) {
      this.problems.push({
        message: `"${decl.use}" reads files, so it can only be the first stage`,
        location,
      });
      return;
    }
    const spec = this.#spec;
    if (!stage.accepts.includes(spec.kind)) {
      const wanted = stage.accepts.map((k) => describeKind[k]).join(" or ");
      const hint = stage.accepts.map((k) => KIND_HINT[k]).find((h) => h !== undefined);
      this.problems.push({
        message: `"${decl.use}" takes ${wanted}, but "${this.#prev}" gives ${describeKind[spec.kind]}` +
          (hint ? `; ${hint}` : ""),
        location,
      });
      this.#prev = labelOf(decl);
      return;
    }
    const next: TensorSpec | string = stage.plan?.(params, spec) ??
      { ...spec, kind: outputKind(stage, spec.kind) };
    if (typeof next === "string") {
      this.problems.push({ message: `"${decl.use}": ${next} (input: ${formatSpec(spec)})`, location });
      this.#prev = labelOf(decl);
      return;
    }
    this.#checkOutputs(decl, stage, params, location);
    this.stages.push({ decl, stage, params, label: labelOf(decl), output: next });
    this.#spec = next;
    this.#prev = labelOf(decl);
  }

  /** Refuses two stages writing one file extension, or one run-level output. */
  #checkOutputs(decl: StageDecl, stage: AnyImageStage, params: unknown, location: SourceLocation): void {
    const label = labelOf(decl);
    for (const ext of stage.writes?.(params) ?? []) {
      const other = this.writes.get(ext);
      if (other !== undefined) {
        this.problems.push({
          message:
            `"${label}" writes .${ext} files, as "${other}" already does; the second would overwrite the first`,
          location,
        });
      }
      this.writes.set(ext, label);
    }
    for (const collection of stage.collects?.(params) ?? []) {
      const other = this.collections.find((c) => c.collection.name === collection.name);
      if (other) {
        this.problems.push({
          message: `"${label}" writes the run-level output "${collection.name}", as "${other.stage}" ` +
            "already does; give one of them another name",
          location,
        });
      }
      this.collections.push({ stage: label, collection });
    }
  }
}

/** Plans a parsed pipeline against a registry (built-ins plus `plugins:`), reporting every problem. */
export const plan = (pipeline: PipelineDecl, base: Registry): Effect.Effect<Plan, PipelineError> =>
  Effect.gen(function* () {
    const registry = yield* loadPlugins(base, pipeline).pipe(
      Effect.catch((problems) => fail("PLUGIN_LOAD", problems)),
    );
    const resolved = yield* resolveStages(pipeline, registry);
    yield* runSetups(pipeline, resolved);
    const [first, ...rest] = resolved;
    const source = yield* planSource(pipeline, registry, first);
    const chain = new StageChain(pipeline, source);
    for (const r of rest) chain.add(r);
    if (chain.problems.length > 0) return yield* fail("PLAN_MISMATCH", chain.problems);
    const warnings = chain.writes.size === 0 && chain.collections.length === 0
      ? ["the pipeline writes nothing: end it with `- use: write` (with: { format: npy })"]
      : [];
    return {
      pipeline,
      source,
      stages: chain.stages,
      writes: [...chain.writes.keys()],
      collections: chain.collections,
      layers: registry.layers,
      registry,
      warnings,
    };
  });

/** Why the source stage cannot group inputs as the pipeline's `group:` asks (see core/group.ts). */
const groupingProblem = (pipeline: PipelineDecl, source: AnySourceStage): Problem | undefined => {
  const modes = source.group?.modes ?? [];
  if (pipeline.group === "file" || modes.includes(pipeline.group)) return undefined;
  return {
    message: `group: ${pipeline.group}: the source stage "${source.name}" ` +
      (modes.length === 0
        ? "reads one file at a time; remove `group:` (or use --group file)"
        : `groups by ${modes.join(", ")}.${didYouMean(pipeline.group, modes)}`),
    location: pipeline.locate(["group"]),
  };
};

/**
 * Provides the Layers of a plan's plugins to an effect that runs its stages. Built-in stages need no
 * service but `Output` (provided per input); a plugin stage's services come from its plugin's `layer`.
 */
export const providePlugins =
  (p: Plan) => <A, E>(effect: Effect.Effect<A, E, AnyServices>): Effect.Effect<A, E> => {
    if (p.layers.length === 0) return effect as Effect.Effect<A, E>;
    const layers = p.layers as [Layer.Layer<AnyServices>, ...Array<Layer.Layer<AnyServices>>];
    return effect.pipe(Effect.provide(Layer.mergeAll(...layers))) as Effect.Effect<A, E>;
  };

/** Services a stage may require (only known to the plugin that provides them). */
// deno-lint-ignore no-explicit-any
type AnyServices = any;
