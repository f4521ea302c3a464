/**
 * Run-level outputs ("collections"): files that gather rows from every input of a run, in input order -
 * e.g. `write` with `format: npy, stack: true`: one `[N, ...]` array for the whole run plus an index.
 *
 * The life cycle (the call sites are marked `[collect]` in runtime.ts, run/recorder.ts, run/process.ts and
 * session.ts):
 * 1. Plan time: a stage declares its collections (`ImageStage.collects`); the planner keeps them in
 *    `Plan.collections` and refuses two with one name.
 * 2. Before the first input: {@link RunCollectors.open} opens every collection's files under temporary names
 *    (`<name>.<ext>.dcmflow-tmp-<tag>-...`, removed by the next run of the tag if this one is killed) and
 *    calls its `open`.
 * 3. Per input, wherever it runs (a worker thread, the GPU path): the stage's `run` calls
 *    `Output.append(name, row)`; the session stages the rows with the input's files (dropped when the input
 *    fails) and they travel with its result (`TaskResult.rows`: plain data).
 * 4. The run's recorder records inputs in input order whatever order they finish in; for each it calls
 *    {@link RunCollectors.append}, which appends the rows of an input that succeeded. A writer may refuse an
 *    input's rows (`check`, e.g. a shape that differs from the first row's): the input's entry becomes that
 *    coded error and its other outputs are removed, so a refused input leaves nothing.
 * 5. After the last input: {@link RunCollectors.finish} completes each collection (e.g. the npy header's row
 *    count) and renames its files into place. A run that did not record every input (interrupted) or that
 *    fails removes them instead: a stacked file is whole or absent, never a part that reads as complete.
 *
 * Writes are synchronous (`node:fs`, explicit positions), like the sessions' and the journal's.
 *
 * @module
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { freeBuffer, isDetached } from "../dicom/bytes.ts";
import { isPooled } from "./cpu/tensor_pool.ts";
import { type CodedError, OutputWriteError, toCodedError } from "./errors.ts";
import { type LedgerEntry, writeAll } from "./session.ts";

/** A file of a collection, open under a temporary name until the collection finishes. */
export interface RunFile {
  /** The path it will have once the run finishes. */
  readonly path: string;
  /** Bytes written so far (the end of the file). */
  readonly size: () => number;
  /** Appends `bytes`, or overwrites at `position` (e.g. a header completed at the end); throws on failure. */
  readonly write: (bytes: Uint8Array, position?: number) => void;
}

/** The input a collection's rows came from. */
export interface CollectedInput {
  readonly path: string;
  /** Position of the input among all inputs found (rows are appended in this order). */
  readonly index: number;
}

/** Where an input's rows went in a collection (recorded in its ledger entry). */
export interface CollectedRows {
  readonly name: string;
  /** First row (0-based) and how many rows the input added. */
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

/** A collection at work: rows in, files out. Methods throw on write failures. */
export interface CollectionWriter<Row = unknown> {
  /** Why an input's rows cannot be appended (nothing is written then), or undefined. */
  readonly check?: (rows: ReadonlyArray<Row>, input: CollectedInput) => CodedError | undefined;
  /**
   * Appends one input's rows (called in input order, only for inputs that succeeded and passed `check`);
   * returns where they went (one input may add several rows, e.g. one per frame).
   */
  readonly append: (
    rows: ReadonlyArray<Row>,
    input: CollectedInput,
  ) => { readonly first: number; readonly count: number };
  /** Completes the files (headers, counts); the runtime renames them into place afterwards. */
  readonly finish: () => CollectionSummary;
}

/** A run-level output a stage declares (see `ImageStage.collects`). */
export interface Collection<Row = unknown> {
  /** Unique in the pipeline; the stem of its files. `Output.append(name, row)` adds rows to it. */
  readonly name: string;
  /** Extensions of its files, e.g. `["npy", "index.csv"]`: `<name>.npy`, `<name>.index.csv`. */
  readonly files: ReadonlyArray<string>;
  /** Starts the collection on its (empty, temporary) files, in the order of `files`. */
  readonly open: (files: ReadonlyArray<RunFile>) => CollectionWriter<Row>;
}

/** A collection of any row type (as stages declare and plans hold them). */
// deno-lint-ignore no-explicit-any
export type AnyCollection = Collection<any>;

/** A collection with the label of the stage that declared it (as the plan holds them). */
export interface PlannedCollection {
  readonly stage: string;
  readonly collection: AnyCollection;
}

/** Rows one input staged for run-level outputs (plain data: they travel from worker threads). */
export type StagedRows = ReadonlyArray<{ readonly name: string; readonly row: unknown }>;

/**
 * The memory the rows own: the ArrayBuffers behind typed arrays that are a row's own fields, whole, not
 * shared and not the tensor pool's. A row is handed over to the runtime (see `Output.append`), so this
 * memory moves with a worker's result (transferred, not copied) and is released once the row is written:
 * a run appends N rows, and N buffers left to the garbage collector pile up as tens of megabytes per thread.
 */
export const rowBuffers = (rows: StagedRows): ArrayBuffer[] => {
  const found = new Set<ArrayBuffer>();
  for (const { row } of rows) {
    if (typeof row !== "object" || row === null) continue;
    for (const value of Object.values(row)) {
      if (!ArrayBuffer.isView(value) || !(value.buffer instanceof ArrayBuffer)) continue;
      const whole = value.byteOffset === 0 && value.byteLength === value.buffer.byteLength;
      if (whole && !isPooled(value.buffer) && !isDetached(value.buffer)) {
        found.add(value.buffer);
      }
    }
  }
  return [...found];
};

/** Frees the rows' memory now ({@link rowBuffers}; their arrays read as empty afterwards). */
export const releaseRows = (rows: StagedRows): void => {
  for (const buffer of rowBuffers(rows)) freeBuffer(buffer);
};

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

const writeError = (path: string, e: unknown) =>
  new OutputWriteError({
    code: "WRITE_ERROR",
    message: `cannot write ${path}: ${e instanceof Error ? e.message : String(e)}`,
  });

/** An open temporary file. */
class TempFile implements RunFile {
  #size = 0;
  #fd: number | undefined;

  constructor(readonly tmp: string, readonly path: string) {
    mkdirSync(dirname(tmp), { recursive: true });
    this.#fd = openSync(tmp, "w+");
  }

  size = (): number => this.#size;

  write = (bytes: Uint8Array, position?: number): void => {
    if (this.#fd === undefined) throw writeError(this.path, "the file is closed");
    const at = position ?? this.#size;
    try {
      writeAll(this.#fd, bytes, at);
    } catch (e) {
      throw writeError(this.path, e);
    }
    this.#size = Math.max(this.#size, at + bytes.length);
  };

  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  remove(): void {
    this.close();
    rmSync(this.tmp, { force: true });
  }
}

/** A collection opened for a run. */
interface OpenCollection {
  readonly planned: PlannedCollection;
  readonly files: ReadonlyArray<TempFile>;
  readonly writer: CollectionWriter;
  /** Set when writing failed: the collection is dropped, and rows meant for it fail their input. */
  broken?: CodedError;
}

/** The run's collections: opened before the first input, fed in input order, finished at the end. */
export class RunCollectors {
  readonly #open: OpenCollection[];
  readonly #byName: ReadonlyMap<string, OpenCollection>;
  #done = false;

  private constructor(open: OpenCollection[]) {
    this.#open = open;
    this.#byName = new Map(open.map((c) => [c.planned.collection.name, c]));
  }

  /**
   * Opens `collections` under `outDir` (temporary names from `tempName`); throws an {@link OutputWriteError}
   * when one cannot be started (its files are removed).
   */
  static open(
    collections: ReadonlyArray<PlannedCollection>,
    outDir: string,
    options: { readonly tempName: (final: string) => string; readonly shard?: ShardInfo },
  ): RunCollectors {
    const open: OpenCollection[] = [];
    try {
      for (const planned of collections) {
        const files: TempFile[] = [];
        try {
          for (const ext of planned.collection.files) {
            const final = collectionPath(outDir, planned.collection.name, ext, options.shard);
            files.push(new TempFile(options.tempName(final), final));
          }
          open.push({ planned, files, writer: planned.collection.open(files) });
        } catch (e) {
          for (const f of files) f.remove();
          throw e instanceof OutputWriteError ? e : writeError(outDir, e);
        }
      }
    } catch (e) {
      new RunCollectors(open).abort();
      throw e;
    }
    return new RunCollectors(open);
  }

  /** True when the run has collections (otherwise {@link append} passes entries through). */
  get active(): boolean {
    return this.#open.length > 0;
  }

  /**
   * Appends the rows of input `index` (the recorder calls this in input order, for every input) and returns
   * its final entry: with `collected` (where its rows went), or an error when a collection refused them or
   * could not write them (the input's other outputs are then removed). The rows are released afterwards
   * (see {@link rowBuffers}).
   */
  append(index: number, entry: LedgerEntry, rows: StagedRows | undefined): LedgerEntry {
    try {
      return this.#append(index, entry, rows);
    } finally {
      if (rows) releaseRows(rows);
    }
  }

  #append(index: number, entry: LedgerEntry, rows: StagedRows | undefined): LedgerEntry {
    if (!rows || rows.length === 0 || entry.status !== "ok") return entry;
    const input = { path: entry.input, index };
    const byCollection = new Map<OpenCollection, unknown[]>();
    for (const { name, row } of rows) {
      const c = this.#byName.get(name);
      if (!c) {
        const message = `rows for a run-level output "${name}" that no stage of the pipeline declared`;
        return failEntry(entry, { code: "INTERNAL_ERROR", message }, "collect");
      }
      byCollection.set(c, [...(byCollection.get(c) ?? []), row]);
    }
    for (const [c, list] of byCollection) {
      const refused = c.broken ?? c.writer.check?.(list, input);
      if (refused) return failEntry(entry, refused, c.planned.stage);
    }
    const collected: CollectedRows[] = [];
    for (const [c, list] of byCollection) {
      try {
        collected.push({ name: c.planned.collection.name, ...c.writer.append(list, input) });
      } catch (e) {
        c.broken = toCodedError(e, "WRITE_ERROR");
        return failEntry(entry, c.broken, c.planned.stage);
      }
    }
    return { ...entry, collected };
  }

  /**
   * Completes every collection and renames its files into place when the run recorded every input
   * (`complete`); otherwise removes them. One report per collection.
   */
  finish(complete: boolean): ReadonlyArray<CollectionReport> {
    this.#done = true;
    return this.#open.map((c) => finishOne(c, complete));
  }

  /** Removes every unfinished file (the run failed); nothing once {@link finish} ran. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    for (const c of this.#open) for (const f of c.files) f.remove();
  }
}

/** The entry of an input whose rows a collection refused or could not write: its outputs are removed. */
const failEntry = (entry: LedgerEntry, error: CodedError, stage: string): LedgerEntry => {
  for (const p of entry.outputs) rmSync(p, { force: true });
  const { files: _files, ...rest } = entry;
  return {
    ...rest,
    status: "error",
    outputs: [],
    error: { code: error.code, message: error.message, stage },
  };
};

/** Finishes one collection: completes its files, closes them and renames them into place. */
const finishOne = (c: OpenCollection, complete: boolean): CollectionReport => {
  const base = { name: c.planned.collection.name, stage: c.planned.stage };
  const failed = (error: CodedError): CollectionReport => {
    for (const f of c.files) f.remove();
    return { ...base, outputs: [], error: { code: error.code, message: error.message } };
  };
  if (c.broken) return failed(c.broken);
  if (!complete) {
    return failed({
      code: "INCOMPLETE",
      message: "the run did not process every input, so the run-level output was not written",
    });
  }
  const renamed: string[] = [];
  try {
    const summary = c.writer.finish();
    for (const f of c.files) f.close();
    // The first file (e.g. the .npy) is renamed last: once it is in place, every file of the collection is.
    for (const f of [...c.files].reverse()) {
      renameSync(f.tmp, f.path);
      renamed.push(f.path);
    }
    return { ...base, outputs: c.files.map((f) => f.path), ...summary };
  } catch (e) {
    for (const p of renamed) rmSync(p, { force: true });
    return failed(toCodedError(e, "WRITE_ERROR"));
  }
};
