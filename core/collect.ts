/**
 * Run-level outputs ("collections"): files that gather rows from every input of a run, in input order -
 * e.g. `write` with `format: npy, stack: true`: one `[N, ...]` array for the whole run plus an index.
 *
 * The life cycle, driven by the runtime (the only call sites are marked `[collect]` in runtime.ts and
 * session.ts):
 * 1. Plan time: a stage declares its collections (`ImageStage.collects`); the planner keeps them in
 *    `Plan.collections` and refuses two with one name.
 * 2. Before the first input: {@link openCollectors} opens every collection's files under temporary names
 *    (`<name>.<ext>.tmp-...`) and calls its `open`. The returned {@link RunCollectors} is provided to the
 *    sessions as the {@link Collectors} service.
 * 3. Per input: the stage's `run` calls `Output.append(name, row)`; the rows are staged with the input's
 *    other outputs (dropped on rollback) and handed over by the session's commit (`committed`).
 * 4. Every input is settled exactly once (`settle`, in any order): the rows of committed inputs are appended
 *    in input order (inputs that settle early wait in a reorder buffer, keyed by input index). A writer may
 *    refuse an input's rows (`check`, e.g. a shape that differs from the first row's): that input's ledger
 *    entry becomes the coded error and its other outputs are removed, so a refused input leaves nothing.
 * 5. After the last input: `finish` completes each collection (e.g. the npy header's row count) and renames
 *    its files into place; when the run ends any other way the temporary files are removed. A killed process
 *    leaves only `*.tmp-*` files behind, never a complete-looking output.
 *
 * @module
 */
import { Context, Effect, Exit, FileSystem, Scope } from "effect";
import { open } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type CodedError, OutputWriteError, PipelineError, toCodedError } from "./errors.ts";
import type { InputFile } from "./inputs.ts";
import type { LedgerEntry } from "./session.ts";

/** A file of a collection, open under a temporary name until the collection finishes. */
export interface RunFile {
  /** The path it will have once the run finishes. */
  readonly path: string;
  /** Bytes written so far (the end of the file). */
  readonly size: () => number;
  /** Appends `bytes`, or overwrites at `position` (e.g. a header completed at the end). */
  readonly write: (bytes: Uint8Array, position?: number) => Effect.Effect<void, OutputWriteError>;
}

/** The input a collection's rows came from. */
export interface CollectedInput {
  readonly path: string;
  /** Position of the input in the run (0-based; rows are appended in this order). */
  readonly index: number;
}

/** Where an input's rows went in a collection. */
export interface CollectedRows {
  readonly name: string;
  /** First row index (0-based) and how many rows the input added. */
  readonly first: number;
  readonly count: number;
}

/** What a finished collection reports (ledger and CLI summary). */
export interface CollectionSummary {
  readonly rows: number;
  /** Shape of the whole array, when the collection is one (e.g. `[N, C, H, W]`). */
  readonly shape?: ReadonlyArray<number>;
  readonly dtype?: string;
}

/** A collection at work: rows in, files out. */
export interface CollectionWriter<Row = unknown> {
  /** Why an input's rows cannot be appended (nothing is written then), or undefined. */
  readonly check?: (rows: ReadonlyArray<Row>, input: CollectedInput) => CodedError | undefined;
  /**
   * Appends one input's rows (called in input order, only for inputs that committed and passed `check`);
   * returns where they went (one input may add several rows, e.g. one per frame).
   */
  readonly append: (
    rows: ReadonlyArray<Row>,
    input: CollectedInput,
  ) => Effect.Effect<{ readonly first: number; readonly count: number }, OutputWriteError>;
  /** Completes the files (headers, counts); the runtime renames them into place afterwards. */
  readonly finish: Effect.Effect<CollectionSummary, OutputWriteError>;
}

/** A run-level output a stage declares (see `ImageStage.collects`). */
export interface Collection<Row = unknown> {
  /** Unique in the pipeline; the stem of its files. `Output.append(name, row)` adds rows to it. */
  readonly name: string;
  /** Extensions of its files, e.g. `["npy", "index.csv"]`: `<name>.npy`, `<name>.index.csv`. */
  readonly files: ReadonlyArray<string>;
  /** Starts the collection on its (empty, temporary) files, in the order of `files`. */
  readonly open: (files: ReadonlyArray<RunFile>) => Effect.Effect<CollectionWriter<Row>, OutputWriteError>;
}

/** A collection of any row type (as stages declare and plans hold them). */
// deno-lint-ignore no-explicit-any
export type AnyCollection = Collection<any>;

/** A collection with the label of the stage that declared it (as the plan holds them). */
export interface PlannedCollection {
  readonly stage: string;
  readonly collection: AnyCollection;
}

/** The ledger's record of a collection. */
export interface CollectionReport extends Partial<CollectionSummary> {
  readonly name: string;
  readonly stage: string;
  /** The files, once in place (empty when the collection failed). */
  readonly outputs: ReadonlyArray<string>;
  readonly error?: CodedError;
}

/** Which part of a sharded run this is (the shard infix of file names); absent for a whole run. */
export interface ShardInfo {
  readonly index: number;
  readonly count: number;
}

/**
 * The path of a collection's file: `DIR/<name>.<ext>`, or `DIR/<name>.shard-I-of-N.<ext>` for a shard.
 * The one place these names are made.
 */
export const collectionPath = (outDir: string, name: string, ext: string, shard?: ShardInfo): string =>
  join(outDir, `${name}${shard ? `.shard-${shard.index}-of-${shard.count}` : ""}.${ext}`);

/** The run's collections, as the runtime and the sessions use them. */
export interface RunCollectors {
  /** True when the run has a collection of this name (so `Output.append` may stage rows for it). */
  readonly has: (name: string) => boolean;
  /** Hands over the rows a committed input staged (called by the session's commit). */
  readonly committed: (
    input: InputFile,
    rows: ReadonlyArray<{ readonly name: string; readonly row: unknown }>,
  ) => void;
  /**
   * Settles an input with its ledger entry (any order, each input once). Returns the entries that became
   * final, in input order: this one and any that waited for it, or none while an earlier input is pending.
   */
  readonly settle: (input: InputFile, entry: LedgerEntry) => Effect.Effect<ReadonlyArray<LedgerEntry>>;
  /** Completes every collection and renames its files into place; one report per collection. */
  readonly finish: Effect.Effect<ReadonlyArray<CollectionReport>>;
}

/** Service key: the run's collections, for the sessions (absent outside a run, e.g. `processBytes`). */
export class Collectors extends Context.Service<Collectors, RunCollectors>()("dcmflow/Collectors") {}

/** A collection opened for a run. */
interface OpenCollection {
  readonly planned: PlannedCollection;
  readonly files: ReadonlyArray<{ readonly tmp: string; readonly file: RunFile }>;
  readonly writer: CollectionWriter;
  /** Closes its files. */
  readonly scope: Scope.Closeable;
  /** Set when writing failed: the collection is dropped, and rows meant for it fail their input. */
  broken?: CodedError;
}

const writeError = (path: string) => (e: { readonly message: string }) =>
  new OutputWriteError({ code: "WRITE_ERROR", message: `cannot write ${path}: ${e.message}` });

/**
 * Opens `path` (truncated) as a {@link RunFile} whose final name is `final`; closed with the scope. Writes go
 * through `node:fs` with explicit positions (Bun 1.4 ignores the position of `fs.write` calls that leave
 * offset and length out, as Effect's `File.write` does, so a header rewrite would be appended there).
 */
const openRunFile = (fs: FileSystem.FileSystem, path: string, final: string) =>
  Effect.gen(function* () {
    yield* fs.makeDirectory(dirname(path), { recursive: true });
    const handle = yield* Effect.acquireRelease(
      Effect.tryPromise(() => open(path, "w+")),
      (h) => Effect.promise(() => h.close()).pipe(Effect.ignore),
    );
    let size = 0;
    const writeAt = (bytes: Uint8Array, position: number) =>
      Effect.tryPromise(async () => {
        for (let done = 0; done < bytes.length;) {
          const { bytesWritten } = await handle.write(bytes, done, bytes.length - done, position + done);
          if (bytesWritten === 0) throw new Error("no bytes written");
          done += bytesWritten;
        }
      });
    const file: RunFile = {
      path: final,
      size: () => size,
      write: (bytes, position) =>
        Effect.suspend(() => {
          const at = position ?? size;
          size = Math.max(size, at + bytes.length);
          return writeAt(bytes, at);
        }).pipe(
          Effect.mapError((e) =>
            writeError(final)({ message: String((e as { cause?: unknown }).cause ?? e) })
          ),
        ),
    };
    return file;
  }).pipe(
    Effect.mapError((e) =>
      writeError(final)({ message: String((e as { cause?: unknown }).cause ?? e.message) })
    ),
  );

/** Options of {@link openCollectors}. */
export interface CollectOptions {
  /** Unique suffix of temporary names (e.g. `tmp-<pid>`): `<name>.<ext>.<suffix>`. */
  readonly tempSuffix: string;
  readonly shard?: ShardInfo;
}

/** Opens one collection's temporary files and starts its writer. */
const openOne = (
  fs: FileSystem.FileSystem,
  planned: PlannedCollection,
  outDir: string,
  options: CollectOptions,
) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make();
    const files: Array<{ tmp: string; file: RunFile }> = [];
    const opened = yield* Effect.exit(Effect.gen(function* () {
      for (const ext of planned.collection.files) {
        const final = collectionPath(outDir, planned.collection.name, ext, options.shard);
        const tmp = `${final}.${options.tempSuffix}`;
        files.push({ tmp, file: yield* Scope.provide(scope)(openRunFile(fs, tmp, final)) });
      }
      return yield* planned.collection.open(files.map((f) => f.file));
    }));
    if (opened._tag === "Failure") {
      yield* Scope.close(scope, opened);
      yield* removeAll(fs, files);
      return yield* Effect.failCause(opened.cause);
    }
    return { planned, files, writer: opened.value, scope } satisfies OpenCollection;
  });

const removeAll = (fs: FileSystem.FileSystem, files: ReadonlyArray<{ readonly tmp: string }>) =>
  Effect.forEach(files, (f) => fs.remove(f.tmp).pipe(Effect.ignore), { discard: true });

/**
 * Opens the plan's collections for a run over `inputs` (their order is the rows' order). Temporary files
 * left unfinished (the run failed or was interrupted) are removed when the run's scope closes. Fails with
 * a pipeline error when a collection cannot be started (nothing has run yet).
 */
export const openCollectors = (
  collections: ReadonlyArray<PlannedCollection>,
  outDir: string,
  inputs: ReadonlyArray<InputFile>,
  options: CollectOptions,
): Effect.Effect<RunCollectors, PipelineError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const open: OpenCollection[] = [];
    // After `finish` the temporary names are gone (renamed), so removing them again does nothing.
    yield* Effect.addFinalizer(() =>
      Effect.forEach(open, (c) => Effect.andThen(Scope.close(c.scope, Exit.void), removeAll(fs, c.files)), {
        discard: true,
      })
    );
    for (const planned of collections) open.push(yield* openOne(fs, planned, outDir, options));
    return makeRunCollectors(fs, open, inputs);
  }).pipe(
    Effect.mapError((e) =>
      new PipelineError({ code: "WRITE_ERROR", message: `cannot start a run-level output: ${e.message}` })
    ),
  );

/** The entry of an input whose rows a collection refused or could not write: its outputs are removed. */
const failEntry = (fs: FileSystem.FileSystem, entry: LedgerEntry, error: CodedError, stage: string) =>
  Effect.as(
    Effect.forEach(entry.outputs, (p) => fs.remove(p).pipe(Effect.ignore), { discard: true }),
    {
      ...entry,
      status: "error",
      outputs: [],
      error: { code: error.code, message: error.message, stage },
    } as const,
  );

/** Appends the staged rows of one input (its turn in input order); returns its final ledger entry. */
const appendInput = (
  fs: FileSystem.FileSystem,
  byName: ReadonlyMap<string, OpenCollection>,
  staged: ReadonlyMap<string, ReadonlyArray<unknown>>,
  input: CollectedInput,
  entry: LedgerEntry,
): Effect.Effect<LedgerEntry> =>
  Effect.gen(function* () {
    for (const [name, rows] of staged) {
      const c = byName.get(name)!;
      const refused = c.broken ?? c.writer.check?.(rows, input);
      if (refused) return yield* failEntry(fs, entry, refused, c.planned.stage);
    }
    const collected: CollectedRows[] = [];
    for (const [name, rows] of staged) {
      const c = byName.get(name)!;
      const written = yield* Effect.result(c.writer.append(rows, input));
      if (written._tag === "Failure") {
        c.broken = toCodedError(written.failure);
        return yield* failEntry(fs, entry, c.broken, c.planned.stage);
      }
      collected.push({ name, ...written.success });
    }
    return { ...entry, collected };
  });

/** Finishes one collection: completes its files, closes them and renames them into place. */
const finishOne = (fs: FileSystem.FileSystem, c: OpenCollection): Effect.Effect<CollectionReport> =>
  Effect.gen(function* () {
    const base = { name: c.planned.collection.name, stage: c.planned.stage };
    const failed = (error: CodedError) =>
      Effect.as(removeAll(fs, c.files), {
        ...base,
        outputs: [],
        error: { code: error.code, message: error.message },
      });
    if (c.broken) {
      yield* Scope.close(c.scope, Exit.void);
      return yield* failed(c.broken);
    }
    const summary = yield* Effect.result(c.writer.finish);
    yield* Scope.close(c.scope, Exit.void);
    if (summary._tag === "Failure") return yield* failed(summary.failure);
    // The first file (e.g. the .npy) is renamed last: once it is in place, every file of the collection is.
    for (const f of [...c.files].reverse()) {
      const renamed = yield* Effect.result(
        fs.rename(f.tmp, f.file.path).pipe(Effect.mapError(writeError(f.file.path))),
      );
      if (renamed._tag === "Failure") return yield* failed(renamed.failure);
    }
    return { ...base, outputs: c.files.map((f) => f.file.path), ...summary.success };
  });

const makeRunCollectors = (
  fs: FileSystem.FileSystem,
  open: ReadonlyArray<OpenCollection>,
  inputs: ReadonlyArray<InputFile>,
): RunCollectors => {
  const indexOf = new Map(inputs.map((input, i) => [input, i]));
  const byName = new Map(open.map((c) => [c.planned.collection.name, c]));
  /** Rows of committed inputs not yet appended, by input index. */
  const staged = new Map<number, Map<string, unknown[]>>();
  /** Entries settled ahead of an earlier input, by input index. */
  const waiting = new Map<number, LedgerEntry>();
  let next = 0;
  const release = (index: number, entry: LedgerEntry) => {
    const rows = staged.get(index);
    staged.delete(index);
    return rows && entry.status === "ok"
      ? appendInput(fs, byName, rows, { path: inputs[index].path, index }, entry)
      : Effect.succeed(entry);
  };
  return {
    has: (name) => byName.has(name),
    committed: (input, rows) => {
      const index = indexOf.get(input);
      if (index === undefined || rows.length === 0) return;
      const byCollection = new Map<string, unknown[]>();
      for (const { name, row } of rows) byCollection.set(name, [...(byCollection.get(name) ?? []), row]);
      staged.set(index, byCollection);
    },
    settle: (input, entry) =>
      Effect.gen(function* () {
        const index = indexOf.get(input);
        if (index === undefined || open.length === 0) return [entry];
        waiting.set(index, entry);
        const done: LedgerEntry[] = [];
        while (waiting.has(next)) {
          const e = waiting.get(next)!;
          waiting.delete(next);
          done.push(yield* release(next, e));
          next++;
        }
        return done;
      }),
    finish: Effect.forEach(open, (c) => finishOne(fs, c)),
  };
};
