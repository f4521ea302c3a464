/**
 * The run ledger: what a run (or one shard of it) did with every input, written to `DIR/dcmflow-run.json`
 * (a shard: `DIR/dcmflow-run.shard-I-of-N.json`) when the run ends, normally or on SIGINT/SIGTERM.
 *
 * @module
 */
import { renameSync, rmSync, writeFileSync } from "node:fs";
import type { CollectionReport } from "../collect.ts";
import type { Plan } from "../planner.ts";
import { runtimeName } from "../platform.ts";
import { type LedgerEntry, tempName } from "../session.ts";
import { VERSION } from "../version.ts";
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

/** Counts of a list of entries. */
export const summarize = (
  entries: ReadonlyArray<LedgerEntry>,
  extra: { readonly pending?: number; readonly resumed?: number } = {},
): LedgerSummary => {
  const error = entries.filter((e) => e.status === "error").length;
  return {
    total: entries.length + (extra.pending ?? 0),
    ok: entries.length - error,
    error,
    ...(extra.pending ? { pending: extra.pending } : {}),
    ...(extra.resumed ? { resumed: extra.resumed } : {}),
  };
};

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

/** The ledger of a finished (or interrupted) run. */
export const makeLedger = (facts: LedgerFacts, entries: ReadonlyArray<LedgerEntry>): Ledger => ({
  pipeline: pipelineRecord(facts.plan),
  device: facts.device,
  dcmflow: VERSION,
  runtime: runtimeName(),
  workers: facts.workers,
  ...(facts.shard ? { shard: facts.shard } : {}),
  started: facts.started.toISOString(),
  finished: new Date().toISOString(),
  ...(facts.interrupted ? { interrupted: facts.interrupted } : {}),
  summary: summarize(entries, { pending: facts.pending, resumed: facts.resumed }),
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
