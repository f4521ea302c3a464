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
import { PipelineError } from "./errors.ts";
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

/** Plans a parsed pipeline against a registry (built-ins plus `plugins:`), reporting every problem. */
export const plan = (pipeline: PipelineDecl, base: Registry): Effect.Effect<Plan, PipelineError> =>
  Effect.gen(function* () {
    const registry = yield* loadPlugins(base, pipeline).pipe(
      Effect.catch((problems) => fail("PLUGIN_LOAD", problems)),
    );
    const problems: Problem[] = [];
    let code: PipelineError["code"] = "PLAN_MISMATCH";
    const resolved: Array<{ readonly decl: StageDecl; readonly stage: Stage; params: unknown }> = [];
    for (const decl of pipeline.stages) {
      const entry = registry.stages.get(decl.use);
      if (!entry) {
        code = "UNKNOWN_STAGE";
        problems.push({
          message: `unknown stage "${decl.use}".${
            didYouMean(decl.use, registry.stages.keys())
          } Known stages: ${[...registry.stages.keys()].join(", ")} (see \`dcmflow plugins\`).`,
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
    if (problems.length > 0) return yield* fail(code, problems);

    // One-time preparation (e.g. loading a model) before shapes are planned; failures are located.
    let setupCode: PipelineError["code"] = "STAGE_SETUP";
    const pipelineDir = dirname(resolve(pipeline.file));
    for (const r of resolved) {
      if (isSourceStage(r.stage) || !r.stage.setup) continue;
      const prepared = yield* Effect.result(
        r.stage.setup(r.params, { pipelineDir, pipelineName: pipeline.name }),
      );
      if (prepared._tag === "Failure") {
        const f = prepared.failure;
        if (typeof f !== "string" && problems.length === 0) setupCode = f.code;
        problems.push({
          message: `stage "${r.decl.use}": ${typeof f === "string" ? f : `${f.code}: ${f.message}`}`,
          location: pipeline.locate(["stages", r.decl.index, "use"]),
        });
      } else {
        r.params = prepared.success;
      }
    }
    if (problems.length > 0) return yield* fail(setupCode, problems);

    // Carry the tensor spec through the stages.
    const [first, ...rest] = resolved;
    const at = (decl: StageDecl) => pipeline.locate(["stages", decl.index, "use"]);
    const label = (decl: StageDecl) => decl.id ?? decl.use;
    if (!isSourceStage(first.stage)) {
      const sources = [...registry.stages.values()].filter((r) => isSourceStage(r.stage)).map((r) =>
        r.stage.name
      );
      return yield* fail("PLAN_MISMATCH", [{
        message:
          `the first stage must read files (${sources.join(", ")}); "${first.decl.use}" takes images. ` +
          "Start the pipeline with `- use: decode`.",
        location: at(first.decl),
      }]);
    }
    const sourceSpec = first.stage.plan?.(first.params) ??
      { kind: first.stage.produces, frames: null, channels: null, rows: null, cols: null };
    if (typeof sourceSpec === "string") {
      return yield* fail("PLAN_MISMATCH", [{ message: sourceSpec, location: at(first.decl) }]);
    }
    const grouping = groupingProblem(pipeline, first.stage);
    if (grouping) return yield* fail("PLAN_MISMATCH", [grouping]);
    const source: PlannedStage<AnySourceStage> = {
      decl: first.decl,
      stage: first.stage,
      params: first.params,
      label: label(first.decl),
      output: sourceSpec,
    };
    let spec = sourceSpec;
    let prev = source.label;
    const stages: PlannedStage<AnyImageStage>[] = [];
    const writes = new Map<string, string>();
    const collections: PlannedCollection[] = [];
    for (const { decl, stage, params } of rest) {
      if (isSourceStage(stage)) {
        problems.push({
          message: `"${decl.use}" reads files, so it can only be the first stage`,
          location: at(decl),
        });
        continue;
      }
      if (!stage.accepts.includes(spec.kind)) {
        const wanted = stage.accepts.map((k) => describeKind[k]).join(" or ");
        const hint = stage.accepts.map((k) => KIND_HINT[k]).find((h) => h !== undefined);
        problems.push({
          message: `"${decl.use}" takes ${wanted}, but "${prev}" gives ${describeKind[spec.kind]}` +
            (hint ? `; ${hint}` : ""),
          location: at(decl),
        });
        prev = label(decl);
        continue;
      }
      const next: TensorSpec | string = stage.plan?.(params, spec) ??
        { ...spec, kind: outputKind(stage, spec.kind) };
      if (typeof next === "string") {
        problems.push({ message: `"${decl.use}": ${next} (input: ${formatSpec(spec)})`, location: at(decl) });
        prev = label(decl);
        continue;
      }
      for (const ext of stage.writes?.(params) ?? []) {
        const other = writes.get(ext);
        if (other !== undefined) {
          problems.push({
            message: `"${
              label(decl)
            }" writes .${ext} files, as "${other}" already does; the second would overwrite the first`,
            location: at(decl),
          });
        }
        writes.set(ext, label(decl));
      }
      for (const collection of stage.collects?.(params) ?? []) {
        const other = collections.find((c) => c.collection.name === collection.name);
        if (other) {
          problems.push({
            message:
              `"${label(decl)}" writes the run-level output "${collection.name}", as "${other.stage}" ` +
              "already does; give one of them another name",
            location: at(decl),
          });
        }
        collections.push({ stage: label(decl), collection });
      }
      stages.push({ decl, stage, params, label: label(decl), output: next });
      spec = next;
      prev = label(decl);
    }
    if (problems.length > 0) return yield* fail("PLAN_MISMATCH", problems);
    const warnings = writes.size === 0 && collections.length === 0
      ? ["the pipeline writes nothing: end it with `- use: write` (with: { format: npy })"]
      : [];
    return {
      pipeline,
      source,
      stages,
      writes: [...writes.keys()],
      collections,
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
