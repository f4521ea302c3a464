/**
 * One input's outputs in flight: stage writes go to temporary files beside their destination, which are
 * renamed into place on success (commit) or removed on failure (rollback), so no partial output is ever
 * left. Each staged file is measured (size, SHA-256) as it is written, for the ledger and `--resume`.
 *
 * Temporary names carry the run's tag (`dcmflow-tmp-all-...`, `dcmflow-tmp-shard-2-of-8-...`): a run that
 * holds the output folder's lock for its tag removes those a killed run of the same tag left behind.
 *
 * Writes are synchronous (`node:fs`): they run on worker threads or between inputs, and a synchronous
 * write of a few hundred kilobytes costs less than scheduling an asynchronous one.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import type * as Exit from "effect/Exit";
import { createHash } from "node:crypto";
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import type { CollectedRows, StagedRows } from "./collect.ts";
import { type CodedError, OutputWriteError, toCodedError } from "./errors.ts";
import type { InputFile } from "./inputs.ts";
import { Output, type OutputShape } from "./output.ts";
import { pid } from "./platform.ts";
import type { FramePrediction } from "./predictions.ts";
import type { Image } from "./tensor.ts";

/** One output file as committed: where, how large, and its SHA-256 (hex). */
export interface OutputFile {
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
}

/** One input's line in the ledger. */
export interface LedgerEntry {
  /** The input's position among all inputs the run found (before sharding): the ledger's order. */
  readonly index?: number;
  readonly input: string;
  readonly status: "ok" | "error";
  /** The files written for this input (none when it failed). */
  readonly outputs: ReadonlyArray<string>;
  /** Size and checksum of each output (what `--resume` checks before skipping the input). */
  readonly files?: ReadonlyArray<OutputFile>;
  readonly error?: CodedError & { readonly stage?: string };
  /** Wall time for this input, milliseconds (for batched GPU work: the batch's time shared out). */
  readonly ms: number;
  /** Set when this input ran on the CPU although the run used the GPU, with the reason. */
  readonly fallback?: string;
  /** After `infer`: what the model said, per frame (top classes, or mask coverage). */
  readonly predictions?: ReadonlyArray<FramePrediction>;
  /** A grouped input (`group: series`): its member files, in the order they were used (core/group.ts). */
  readonly members?: ReadonlyArray<string>;
  /** A grouped input: what its source stage reported (splits, copies left out, irregular spacing...). */
  readonly warnings?: ReadonlyArray<string>;
  /** Rows this input added to run-level outputs (e.g. a stacked .npy), see core/collect.ts. */
  readonly collected?: ReadonlyArray<CollectedRows>;
}

/** The marker in temporary file names; what follows it is the run's tag. */
export const TEMP_MARKER = ".dcmflow-tmp-";

let tmpCounter = 0;
let runTag = `all-${pid()}`;

/** Sets the tag of this process's temporary names (the runtime does, per run). */
export const setTempTag = (tag: string): void => {
  runTag = `${tag}-${pid()}`;
};

/** A unique temporary name next to `path`. */
export const tempName = (path: string): string => `${path}${TEMP_MARKER}${runTag}-${tmpCounter++}`;

const madeDirs = new Set<string>();

/** Creates `dir` (and its parents) once per process. */
const ensureDir = (dir: string): void => {
  if (madeDirs.has(dir)) return;
  mkdirSync(dir, { recursive: true });
  madeDirs.add(dir);
};

/** Writes all of `bytes` to `fd` - at `position`, else at the file's offset - however many writes it takes. */
export const writeAll = (fd: number, bytes: Uint8Array, position?: number): void => {
  for (let done = 0; done < bytes.length;) {
    done += writeSync(
      fd,
      bytes,
      done,
      bytes.length - done,
      position === undefined ? undefined : position + done,
    );
  }
};

/** Writes `bytes` (or chunks, in order) to a temporary file beside `final`; returns what the commit needs. */
export const stageFile = (final: string, bytes: Uint8Array | ReadonlyArray<Uint8Array>): StagedFile => {
  ensureDir(dirname(final));
  const tmp = tempName(final);
  const chunks = bytes instanceof Uint8Array ? [bytes] : bytes;
  const hash = createHash("sha256");
  let size = 0;
  const fd = openSync(tmp, "w");
  try {
    for (const chunk of chunks) {
      writeAll(fd, chunk);
      hash.update(chunk);
      size += chunk.length;
    }
  } finally {
    closeSync(fd);
  }
  return { tmp, final, size, sha256: hash.digest("hex") };
};

/** The SHA-256 (hex) of some bytes, as recorded for outputs. */
export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** A file written under its temporary name, waiting for its input to succeed. */
export interface StagedFile {
  readonly tmp: string;
  readonly final: string;
  readonly size: number;
  readonly sha256: string;
}

const writeError = (path: string, e: unknown) =>
  new OutputWriteError({
    code: "WRITE_ERROR",
    message: `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`,
  });

/** Removes staged files (best effort). */
export const discardStaged = (staged: ReadonlyArray<StagedFile>): void => {
  for (const s of staged) rmSync(s.tmp, { force: true });
};

/**
 * Renames staged files into place; on a failure removes those already renamed and the rest, so an input
 * has all its outputs or none.
 */
export const commitStaged = (staged: ReadonlyArray<StagedFile>): ReadonlyArray<OutputFile> => {
  const done: OutputFile[] = [];
  for (const s of staged) {
    try {
      renameSync(s.tmp, s.final);
    } catch (e) {
      for (const f of done) rmSync(f.path, { force: true });
      discardStaged(staged);
      throw writeError(s.final, e);
    }
    done.push({ path: s.final, size: s.size, sha256: s.sha256 });
  }
  return done;
};

/** The output staging of one input. */
export interface Session {
  readonly input: InputFile;
  /** The `Output` service for this input's stages. */
  readonly output: OutputShape;
  /** The files staged so far. */
  readonly staged: () => ReadonlyArray<StagedFile>;
  /** Rows staged for run-level outputs (`Output.append`), handed to the run's collectors in input order. */
  readonly rows: () => StagedRows;
  /** Renames every staged file into place; returns them. On failure, removes them all. */
  readonly commit: Effect.Effect<ReadonlyArray<OutputFile>, OutputWriteError>;
  /** Removes every staged file and forgets them (the input can be run again). */
  readonly rollback: Effect.Effect<void>;
}

/** Opens the output session of `input` under `outDir` (as an Effect, for Effect.gen callers). */
export const openSession = (input: InputFile, outDir: string): Effect.Effect<Session> =>
  Effect.sync(() => makeSession(input, outDir));

/** The output session of `input` under `outDir`. */
export const makeSession = (input: InputFile, outDir: string): Session => {
  let staged: StagedFile[] = [];
  let rows: Array<{ readonly name: string; readonly row: unknown }> = []; // [collect]
  const output = Output.of({
    input: input.path,
    write: (ext, bytes, suffix = "") => {
      const final = join(outDir, `${input.outputBase}${suffix}.${ext}`);
      return Effect.try({
        try: () => {
          staged.push(stageFile(final, bytes));
          return final;
        },
        catch: (e) => writeError(final, e),
      });
    },
    append: (name, row) => Effect.sync(() => void rows.push({ name, row })),
  });
  const rollback = Effect.sync(() => {
    discardStaged(staged);
    staged = [];
    rows = [];
  });
  const commit = Effect.try({
    try: () => {
      const files = commitStaged(staged);
      staged = [];
      return files;
    },
    catch: (e) => (e instanceof OutputWriteError ? e : writeError(outDir, e)),
  });
  return { input, output, staged: () => staged, rows: () => rows, commit, rollback };
};

/** The ledger entry of a failed input, from the failure of its Exit. */
export const errorEntry = (
  input: string,
  cause: Cause.Cause<unknown>,
  stage: string,
  ms: number,
): LedgerEntry => {
  const failure = Cause.findErrorOption(cause);
  const error = failure._tag === "Some"
    ? toCodedError(failure.value)
    : toCodedError(Cause.squash(cause), "INTERNAL_ERROR");
  return { input, status: "error", outputs: [], error: { ...error, stage }, ms };
};

/** The ledger entry of an input whose outputs were committed. */
export const okEntry = (
  input: string,
  files: ReadonlyArray<OutputFile>,
  ms: number,
  predictions?: ReadonlyArray<FramePrediction>,
  warnings: ReadonlyArray<string> = [],
): LedgerEntry => {
  return {
    input,
    status: "ok",
    outputs: files.map((f) => f.path),
    files,
    ms,
    ...(predictions ? { predictions } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
  };
};

/**
 * The warnings of an input's ledger entry: those given (a group's), then what the stages noted about its
 * image as `notes[label].warnings` (the decoder's: a damaged element read past, a duplicated tag, which
 * reading of big-endian 32-bit OW data was used, ...), as "label: warning" (see {@link joinWarnings}).
 */
export const entryWarnings = (
  given: ReadonlyArray<string> = [],
  image?: Pick<Image, "notes">,
): ReadonlyArray<string> => {
  const noted: string[] = [];
  for (const [label, note] of Object.entries(image?.notes ?? {})) {
    const warnings = (note as { readonly warnings?: unknown } | undefined)?.warnings;
    if (!Array.isArray(warnings)) continue;
    for (const w of warnings) if (typeof w === "string") noted.push(`${label}: ${w}`);
  }
  return joinWarnings(given, noted);
};

/** `given` warnings, then the `noted` ones ("label: warning") whose warning is not already given. */
export const joinWarnings = (
  given: ReadonlyArray<string>,
  noted: ReadonlyArray<string>,
): ReadonlyArray<string> => [...given, ...noted.filter((w) => !given.includes(w.slice(w.indexOf(": ") + 2)))];

/** [collect] Rows of inputs committed by {@link finishSession} (the GPU path), until the runtime takes them. */
const committedRows = new WeakMap<LedgerEntry, StagedRows>();

/** The rows staged by the input whose committed entry this is (see {@link finishSession}), once. */
export const takeRows = (entry: LedgerEntry): StagedRows | undefined => {
  const rows = committedRows.get(entry);
  committedRows.delete(entry);
  return rows;
};

/** The ledger entry for a finished input: commits on success, rolls back and records the error otherwise. */
export const finishSession = Effect.fnUntraced(function* <E>(
  session: Session,
  exit: Exit.Exit<unknown, E>,
  stage: string,
  started: number,
  final?: Image,
) {
  const input = session.input.path;
  const ms = () => Math.round(performance.now() - started);
  if (exit._tag === "Failure") {
    yield* session.rollback;
    return errorEntry(input, exit.cause, stage, ms());
  }
  const committed = yield* Effect.result(session.commit);
  if (committed._tag === "Success") {
    const entry = okEntry(input, committed.success, ms(), final?.predictions, entryWarnings([], final));
    if (session.rows().length > 0) committedRows.set(entry, session.rows()); // [collect]
    return entry;
  }
  const error = { ...toCodedError(committed.failure), stage: "commit" };
  return { input, status: "error", outputs: [], error, ms: ms() } as const;
});
