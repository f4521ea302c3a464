/**
 * Pipeline file format 1: parsing with positions, `--set` overrides and structural validation.
 *
 * The YAML is parsed with `yaml`'s `parseDocument` and a `LineCounter`, so every node keeps its position;
 * the structure is decoded with an Effect Schema, and every problem is reported at `file:line:column`
 * with what was expected. Stage parameters are checked later, by each stage's own Schema (see planner.ts),
 * using {@link PipelineDecl.locate} to find their positions.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import * as SchemaIssue from "effect/SchemaIssue";
import {
  type Document,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parse as parseYamlValue,
  parseDocument,
} from "yaml";
import { PipelineError, type SourceLocation } from "./errors.ts";
import { didYouMean } from "./suggest.ts";

/** Where the pipeline runs. */
export type DeviceChoice = "auto" | "gpu" | "cpu";

/** Path of a value in the pipeline document, e.g. `["stages", 2, "with", "center"]`. */
export type DocPath = ReadonlyArray<string | number>;

/** One `stages:` entry as written. */
export interface StageDecl {
  /** Position in `stages` (0-based). */
  readonly index: number;
  readonly use: string;
  readonly id?: string;
  /** The raw `with:` block (decoded later by the stage's Schema); `{}` when absent. */
  readonly with: unknown;
}

/** A structurally valid pipeline file. */
export interface PipelineDecl {
  /** Path of the YAML file (as given), used in messages. */
  readonly file: string;
  readonly name: string;
  readonly device: DeviceChoice;
  /**
   * How inputs become units of work: `file` (each file alone, the default) or a grouping the source stage
   * offers (e.g. `series`: one input per series; see core/group.ts).
   */
  readonly group: string;
  /** Plugin module specifiers as written (relative to the YAML file's folder). */
  readonly plugins: ReadonlyArray<string>;
  readonly stages: ReadonlyArray<StageDecl>;
  /** Overrides applied from the command line, as given. */
  readonly overrides: ReadonlyArray<string>;
  /** The YAML text as read (before overrides), so a worker thread can plan the same pipeline. */
  readonly text: string;
  /** Best known position of a document path (the closest existing ancestor when the path does not exist). */
  readonly locate: (path: DocPath) => SourceLocation;
}

const ID_PATTERN = /^[A-Za-z][A-Za-z0-9_-]*$/;

const StageDeclSchema = Schema.Struct({
  use: Schema.String.check(Schema.isMinLength(1)),
  id: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(ID_PATTERN, { message: "an id made of letters, digits, - and _" })),
  ),
  with: Schema.optionalKey(Schema.NullOr(Schema.Record(Schema.String, Schema.Unknown))),
});

const PipelineSchema = Schema.Struct({
  dcmflow: Schema.Literal(1),
  name: Schema.optionalKey(Schema.String),
  device: Schema.optionalKey(Schema.Literals(["auto", "gpu", "cpu"])),
  group: Schema.optionalKey(
    Schema.String.check(Schema.isPattern(/^[a-z][a-z0-9_-]*$/, { message: "file, or e.g. series" })),
  ),
  plugins: Schema.optionalKey(Schema.Array(Schema.String)),
  stages: Schema.NonEmptyArray(StageDeclSchema),
});

const TOP_KEYS = ["dcmflow", "name", "device", "group", "plugins", "stages"];
const STAGE_KEYS = ["use", "with", "id"];

const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

/** One problem found while checking a document. */
export interface Problem {
  readonly message: string;
  readonly location?: SourceLocation;
}

/** Renders a document path as `stages[2].with.center`. */
export const formatPath = (path: DocPath): string =>
  path.reduce<string>(
    (acc, seg) => typeof seg === "number" ? `${acc}[${seg}]` : acc ? `${acc}.${seg}` : seg,
    "",
  );

/**
 * Turns a Schema failure into problems at their YAML positions. `prefix` is the document path of the value
 * that was decoded; `allowedKeys` (when known) improves "unknown key" messages with a suggestion.
 */
export const schemaProblems = (
  issue: SchemaIssue.Issue,
  prefix: DocPath,
  locate: (path: DocPath) => SourceLocation,
  allowedKeys?: (path: DocPath) => ReadonlyArray<string> | undefined,
): Array<Problem> =>
  formatter(issue).issues.map((i) => {
    const path = [...prefix, ...(i.path ?? []).map((p) => typeof p === "number" ? p : String(p))];
    const where = formatPath(path);
    const last = path[path.length - 1];
    let message = i.message;
    if (message === "Expected no excess property" && typeof last === "string") {
      const allowed = allowedKeys?.(path.slice(0, -1));
      message = `unknown key "${last}".${allowed ? didYouMean(last, allowed) : ""}${
        allowed ? ` Allowed keys: ${allowed.join(", ")}.` : ""
      }`;
    } else if (message === "Missing key") {
      message = `missing required key "${String(last)}"`;
    } else {
      message = `${where}: ${message}`;
    }
    return { message, location: locate(path) };
  });

/** Finds the YAML node at `path` (or its closest existing ancestor). */
const nodeAt = (root: Node | null, path: DocPath): Node | null => {
  let node: Node | null = root;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) return node;
      const value = pair.value as Node | null;
      // A key with no value (e.g. `with:`) is located at its key.
      node = value && value.range ? value : (pair.key as Node);
    } else if (isSeq(node) && typeof seg === "number") {
      const item = node.items[seg] as Node | undefined;
      if (!item) return node;
      node = item;
    } else {
      return node;
    }
  }
  return node;
};

/**
 * Applies one `--set KEY=VALUE` to the raw document. `stages.<ref>.<param>...` addresses a stage by `id`,
 * by `use` name when it is unique, or by index; other keys address the top level (e.g. `device=cpu`).
 * VALUE is parsed as YAML (`-600` is a number, `[0.5]` a list).
 */
const overridePath = (raw: unknown, key: string): DocPath | string => {
  const parts = key.split(".");
  if (parts.some((p) => p === "")) return `"${key}" is not a dotted path like stages.window.center`;
  if (parts[0] !== "stages") {
    if (parts[0] === "dcmflow") return "the format version cannot be overridden";
    if (!TOP_KEYS.includes(parts[0])) {
      return `unknown top-level key "${parts[0]}".${didYouMean(parts[0], TOP_KEYS)}`;
    }
    return parts;
  }
  const stages = (raw as { stages?: unknown })?.stages;
  if (!Array.isArray(stages)) return "the pipeline has no stages list to override";
  if (parts.length < 3) return `"${key}" must name a stage and a parameter, like stages.window.center`;
  const ref = parts[1];
  const byId = stages.findIndex((s) => s?.id === ref);
  let index = byId;
  if (index < 0) {
    const byUse = stages.flatMap((s, i) => (s?.use === ref ? [i] : []));
    if (byUse.length > 1) {
      return `stage "${ref}" is used ${byUse.length} times; give the one to change an \`id:\` and use --set stages.<id>...`;
    }
    index = byUse[0] ?? (/^\d+$/.test(ref) && Number(ref) < stages.length ? Number(ref) : -1);
  }
  if (index < 0) {
    const names = stages.flatMap((s) => [s?.id, s?.use]).filter((n): n is string => typeof n === "string");
    return `no stage with id or name "${ref}".${didYouMean(ref, names)} Stages: ${names.join(", ")}`;
  }
  return parts[2] === "use" || parts[2] === "id" ? ["stages", index, ...parts.slice(2)] : [
    "stages",
    index,
    "with",
    ...parts.slice(2),
  ];
};

/** Applies `--set` overrides to the document (so their values are checked like any other); the problems. */
const applyOverrides = (doc: Document, overrides: ReadonlyArray<string>): Problem[] => {
  const problems: Problem[] = [];
  for (const o of overrides) {
    const eq = o.indexOf("=");
    if (eq <= 0) {
      problems.push({ message: `--set ${o}: expected KEY=VALUE, e.g. --set stages.window.center=-600` });
      continue;
    }
    const path = overridePath(doc.toJS(), o.slice(0, eq));
    if (typeof path === "string") {
      problems.push({ message: `--set ${o}: ${path}` });
      continue;
    }
    let value: unknown;
    try {
      value = parseYamlValue(o.slice(eq + 1));
    } catch {
      value = o.slice(eq + 1);
    }
    doc.setIn(path, value);
  }
  return problems;
};

/** Problems of the document's top level before its Schema: not a mapping, or another format version. */
const formatProblem = (raw: unknown, file: string, locate: (path: DocPath) => SourceLocation) => {
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return {
      message: "a pipeline file is a YAML mapping starting with `dcmflow: 1` and a `stages:` list",
      location: { file, line: 1, column: 1 },
    };
  }
  const version = (raw as { dcmflow?: unknown }).dcmflow;
  if (version === undefined || version === 1) return undefined;
  return {
    message: `unsupported pipeline format version ${JSON.stringify(version)}; this dcmflow reads format 1`,
    location: locate(["dcmflow"]),
  };
};

/** Two stages with one id. */
const duplicateIds = (
  stages: ReadonlyArray<{ readonly id?: string }>,
  locate: (path: DocPath) => SourceLocation,
): Problem[] => {
  const ids = new Map<string, number>();
  const dupes: Problem[] = [];
  stages.forEach((s, i) => {
    if (s.id === undefined) return;
    if (ids.has(s.id)) {
      dupes.push({
        message: `duplicate stage id "${s.id}" (also used by stage ${ids.get(s.id)! + 1})`,
        location: locate(["stages", i, "id"]),
      });
    }
    ids.set(s.id, i);
  });
  return dupes;
};

/** The document decoded by the pipeline Schema, or its problems at their positions. */
const decodeDocument = (raw: unknown, locate: (path: DocPath) => SourceLocation) => {
  const decoded = Schema.decodeUnknownExit(PipelineSchema)(raw, { errors: "all", onExcessProperty: "error" });
  if (decoded._tag === "Success") return { ok: true as const, value: decoded.value };
  const err = decoded.cause.reasons.find((r) => r._tag === "Fail")?.error as Schema.SchemaError | undefined;
  const problems = err
    ? schemaProblems(
      err.issue,
      [],
      locate,
      (p) => (p.length === 0 ? TOP_KEYS : p.length === 2 ? STAGE_KEYS : undefined),
    )
    : [{ message: "invalid pipeline", location: locate([]) }];
  return { ok: false as const, problems };
};

/**
 * Parses and structurally checks a pipeline document. `file` is only used in messages.
 * Fails with every problem found, each at its line and column.
 */
export const parsePipeline = (
  text: string,
  file: string,
  overrides: ReadonlyArray<string> = [],
): Effect.Effect<PipelineDecl, PipelineError> =>
  Effect.gen(function* () {
    const lineCounter = new LineCounter();
    const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
    const at = (offset: number): SourceLocation => {
      const { line, col } = lineCounter.linePos(offset);
      return { file, line, column: col };
    };
    if (doc.errors.length > 0) {
      const problems = doc.errors.map((e) => ({
        message: `YAML syntax: ${e.message.split("\n")[0]}`,
        location: at(e.pos[0]),
      }));
      return yield* fail("YAML_SYNTAX", problems);
    }
    const locate = (path: DocPath): SourceLocation => {
      const node = nodeAt(doc.contents as Node | null, path);
      return node?.range ? at(node.range[0]) : { file, line: 1, column: 1 };
    };
    const overrideProblems = applyOverrides(doc, overrides);
    if (overrideProblems.length > 0) return yield* fail("INVALID_OVERRIDE", overrideProblems);
    const raw: unknown = doc.toJS();
    const format = formatProblem(raw, file, locate);
    if (format) return yield* fail("PIPELINE_FORMAT", [format]);
    const decoded = decodeDocument(raw, locate);
    if (!decoded.ok) return yield* fail("PIPELINE_FORMAT", decoded.problems);
    const value = decoded.value;
    const dupes = duplicateIds(value.stages, locate);
    if (dupes.length > 0) return yield* fail("PIPELINE_FORMAT", dupes);
    return {
      file,
      name: value.name ?? file.replace(/^.*[\\/]/, "").replace(/\.ya?ml$/i, ""),
      device: value.device ?? "auto",
      group: value.group ?? "file",
      plugins: value.plugins ?? [],
      stages: value.stages.map((s, index) => ({
        index,
        use: s.use,
        ...(s.id !== undefined ? { id: s.id } : {}),
        with: s.with ?? {},
      })),
      overrides,
      text,
      locate,
    };
  });

/** Fails with a {@link PipelineError} holding every problem (the first as the main message). */
export const fail = (code: PipelineError["code"], problems: ReadonlyArray<Problem>) => {
  const [first, ...more] = problems;
  return Effect.fail(
    new PipelineError({
      code,
      message: first?.message ?? "invalid pipeline",
      ...(first?.location ? { location: first.location } : {}),
      ...(more.length > 0 ? { more } : {}),
    }),
  );
};
