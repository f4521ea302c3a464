/**
 * The run ledger: what a run (or one shard of it) did with every input, written to `DIR/dcmflow-run.json`
 * (a shard: `DIR/dcmflow-run.shard-I-of-N.json`) when the run ends, normally or on SIGINT/SIGTERM.
 *
 * @module
 */
import { closeSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { CollectionReport } from "../collect.ts";
import type { Plan } from "../planner.ts";
import { runtimeName } from "../platform.ts";
import { type LedgerEntry, tempName, writeAll } from "../session.ts";
import { VERSION } from "../version.ts";
import { forEachJournalLine } from "./journal.ts";
import type { Shard } from "./names.ts";
import { planHash } from "./plan_hash.ts";

/** Where the stages ran. */
export interface DeviceInfo {
  readonly kind: "gpu" | "cpu";
  readonly adapter: string;
  /** Why `auto` chose what it chose, when that is worth saying. */
  readonly note?: string;
  /** Inputs the GPU run sent to the CPU path (e.g. Modality LUT Sequence images); each entry says why. */
  readonly cpuFallbacks?: number;
  /** Set when the device was lost during the run; later inputs ran on the CPU. */
  readonly lost?: string;
}

/** The ledger's summary counts. */
export interface LedgerSummary {
  readonly total: number;
  readonly ok: number;
  readonly error: number;
  /** Inputs not processed because the run was interrupted (resume it to process them). */
  readonly pending?: number;
  /** Inputs skipped by `--resume` because an earlier run had done them (their entries are carried over). */
  readonly resumed?: number;
}

/** The run ledger. */
export interface Ledger {
  readonly pipeline: {
    readonly file: string;
    readonly name: string;
    readonly overrides: ReadonlyArray<string>;
    /** The pipeline's `group:` when inputs were grouped (e.g. "series"; see core/group.ts). */
    readonly group?: string;
    /** The plan hash: equal for runs of the same pipeline (see plan_hash.ts). */
    readonly hash: string;
    readonly stages: ReadonlyArray<
      { readonly use: string; readonly id?: string; readonly with: unknown; readonly info?: unknown }
    >;
  };
  readonly device: DeviceInfo;
  readonly dcmflow: string;
  readonly runtime: string;
  /** Worker threads of the CPU path (0: the main thread). */
  readonly workers: number;
  /** Set for one shard of a split run. */
  readonly shard?: Shard;
  /** Set by `dcmflow merge`: the shards joined, and what each ran on. */
  readonly merged?: {
    readonly shards: number;
    readonly present: ReadonlyArray<number>;
    readonly missing: ReadonlyArray<number>;
    readonly unfinished: ReadonlyArray<number>;
    readonly devices: ReadonlyArray<
      { readonly shard: number; readonly device: DeviceInfo; readonly workers: number }
    >;
  };
  readonly started: string;
  readonly finished: string;
  /** Set when SIGINT or SIGTERM stopped the run before every input was processed. */
  readonly interrupted?: string;
  readonly summary: LedgerSummary;
  readonly inputs: ReadonlyArray<LedgerEntry>;
  /** Run-level outputs (e.g. a stacked .npy): their files and shape, or why they were not written. */
  readonly collected?: ReadonlyArray<CollectionReport>;
}

/** Progress events, for a bar or log lines. */
export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly last: LedgerEntry;
}

/** The pipeline block of a ledger. */
export const pipelineRecord = (plan: Plan): Ledger["pipeline"] => ({
  file: plan.pipeline.file,
  name: plan.pipeline.name,
  overrides: plan.pipeline.overrides,
  ...(plan.pipeline.group !== "file" ? { group: plan.pipeline.group } : {}),
  hash: planHash(plan),
  stages: [plan.source, ...plan.stages].map((s) => {
    const info = "report" in s.stage ? s.stage.report?.(s.params) : undefined;
    return {
      use: s.decl.use,
      ...(s.decl.id !== undefined ? { id: s.decl.id } : {}),
      with: s.decl.with,
      ...(info ? { info } : {}),
    };
  }),
});

/** How many entries a run recorded, and how many of them are errors. */
export interface EntryCounts {
  readonly recorded: number;
  readonly error: number;
}

/** Counts of a list of entries. */
export const summarize = (
  entries: ReadonlyArray<LedgerEntry>,
  extra: { readonly pending?: number; readonly resumed?: number } = {},
): LedgerSummary =>
  summarizeCounts(
    { recorded: entries.length, error: entries.filter((e) => e.status === "error").length },
    extra,
  );

/** The summary from counts (a run that does not keep its entries in memory counts them as it records). */
export const summarizeCounts = (
  counts: EntryCounts,
  extra: { readonly pending?: number; readonly resumed?: number } = {},
): LedgerSummary => ({
  total: counts.recorded + (extra.pending ?? 0),
  ok: counts.recorded - counts.error,
  error: counts.error,
  ...(extra.pending ? { pending: extra.pending } : {}),
  ...(extra.resumed ? { resumed: extra.resumed } : {}),
});

/** What {@link makeLedger} needs besides the entries. */
export interface LedgerFacts {
  readonly plan: Plan;
  readonly device: DeviceInfo;
  readonly workers: number;
  readonly shard?: Shard;
  readonly started: Date;
  readonly interrupted?: string;
  readonly pending: number;
  readonly resumed: number;
  readonly collected?: ReadonlyArray<CollectionReport>;
}

/**
 * The ledger of a finished (or interrupted) run. `counts` (when the entries were not kept: `entries` is
 * empty, see {@link writeLedgerFromJournal}) give its summary; otherwise the entries do.
 */
export const makeLedger = (
  facts: LedgerFacts,
  entries: ReadonlyArray<LedgerEntry>,
  counts?: EntryCounts,
): Ledger => ({
  pipeline: pipelineRecord(facts.plan),
  device: facts.device,
  dcmflow: VERSION,
  runtime: runtimeName(),
  workers: facts.workers,
  ...(facts.shard ? { shard: facts.shard } : {}),
  started: facts.started.toISOString(),
  finished: new Date().toISOString(),
  ...(facts.interrupted ? { interrupted: facts.interrupted } : {}),
  summary: counts
    ? summarizeCounts(counts, { pending: facts.pending, resumed: facts.resumed })
    : summarize(entries, { pending: facts.pending, resumed: facts.resumed }),
  inputs: entries,
  ...(facts.collected && facts.collected.length > 0 ? { collected: facts.collected } : {}),
});

/** Writes a JSON document atomically (a temporary file, then a rename): readers never see half of it. */
export const writeJsonAtomic = (path: string, value: unknown): void => {
  const tmp = tempName(path);
  try {
    writeFileSync(tmp, JSON.stringify(value, null, 2) + "\n");
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
};

/**
 * Characters of ledger text gathered before a write: small enough to die young (a 1 MiB string of ~1,000
 * entries lived across young-generation collections and was promoted, ~1 KiB per entry at a run's end).
 */
const FLUSH_AT = 1 << 16;

/** Where a ledger's `inputs` go in its JSON text (top level: two spaces; raw newlines are only structural). */
const INPUTS = '\n  "inputs": [';

/**
 * Writes `ledger` (whose `inputs` is empty) with the entries of the journal at `journal`, in its order, as
 * `inputs` - byte for byte what {@link writeJsonAtomic} writes for the ledger holding those entries, but one
 * entry at a time: a run of any length never holds them all, nor the whole text (atomic, like
 * {@link writeJsonAtomic}).
 */
export const writeLedgerFromJournal = (path: string, ledger: Ledger, journal: string): void => {
  if (ledger.inputs.length > 0) throw new Error("writeLedgerFromJournal: the ledger's inputs must be empty");
  const text = JSON.stringify(ledger, null, 2) + "\n";
  const at = text.indexOf(`${INPUTS}]`);
  if (at < 0) throw new Error("writeLedgerFromJournal: no inputs in the ledger");
  const tmp = tempName(path);
  const out = openSync(tmp, "w");
  try {
    let pending = text.slice(0, at + INPUTS.length);
    let count = 0;
    const encoder = new TextEncoder();
    const flush = (force: boolean) => {
      if (pending.length < (force ? 1 : FLUSH_AT)) return;
      writeAll(out, encoder.encode(pending));
      pending = "";
    };
    forEachJournalLine(journal, ({ entry }) => {
      // Nested at depth 2 (ledger -> inputs -> entry): the entry's own text, every line indented 4 more.
      pending += `${count++ === 0 ? "\n" : ",\n"}    ${
        JSON.stringify(entry, null, 2).replaceAll("\n", "\n    ")
      }`;
      flush(false);
    });
    pending += `${count > 0 ? "\n  ]" : "]"}${text.slice(at + INPUTS.length + 1)}`;
    flush(true);
    closeSync(out);
    renameSync(tmp, path);
  } catch (e) {
    try {
      closeSync(out);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw e;
  }
};
