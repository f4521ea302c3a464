/**
 * `dcmflow merge DIR`: joins the ledgers of a split run (`dcmflow-run.shard-I-of-N.json`, one per shard)
 * into `DIR/dcmflow-run.json` - every input exactly once, in the order an unsharded run records them, the
 * summary summed and every error kept. Shards that are missing (no ledger) or unfinished (killed: only a
 * journal; interrupted: pending inputs) are reported by number. Ledgers of different pipelines or of
 * different splits are refused.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import type { LedgerEntry } from "../session.ts";
import { type Ledger, summarize, writeJsonAtomic } from "./ledger.ts";
import { journalName, LEDGER_FILE, SHARD_LEDGER } from "./names.ts";

/** What a merge found and wrote. */
export interface MergeResult {
  readonly ledger: Ledger;
  readonly path: string;
  readonly count: number;
  /** Shards without a ledger (never ran, or still running / killed: see `unfinished`). */
  readonly missing: ReadonlyArray<number>;
  /** Shards that did not finish: killed (a journal, no ledger) or interrupted (inputs pending). */
  readonly unfinished: ReadonlyArray<{ readonly shard: number; readonly why: string }>;
}

const mismatch = (message: string) => new PipelineError({ code: "MERGE_MISMATCH", message });

/** The shard ledgers in `dir`, by shard number; refuses a folder holding more than one split. */
const readShardLedgers = (dir: string): { count: number; ledgers: Map<number, Ledger> } => {
  if (!existsSync(dir)) {
    throw new PipelineError({ code: "INVALID_ARGUMENTS", message: `${dir}: no such folder` });
  }
  const ledgers = new Map<number, Ledger>();
  const counts = new Set<number>();
  for (const name of readdirSync(dir).sort()) {
    const m = SHARD_LEDGER.exec(name);
    if (!m) continue;
    counts.add(Number(m[2]));
    try {
      ledgers.set(Number(m[1]), JSON.parse(readFileSync(join(dir, name), "utf8")) as Ledger);
    } catch (e) {
      throw mismatch(`${join(dir, name)} is not a readable ledger: ${e instanceof Error ? e.message : e}`);
    }
  }
  if (counts.size === 0) {
    throw new PipelineError({
      code: "INVALID_ARGUMENTS",
      message: `${dir} holds no shard ledgers (dcmflow-run.shard-I-of-N.json); run with --shard I/N first`,
    });
  }
  if (counts.size > 1) {
    throw mismatch(
      `${dir} holds ledgers of splits into ${[...counts].join(" and ")} shards; merge one split`,
    );
  }
  return { count: [...counts][0], ledgers };
};

/** Refuses ledgers of different pipelines. */
const checkSamePipeline = (ledgers: Map<number, Ledger>): void => {
  const hashes = new Map<string, number[]>();
  for (const [i, l] of ledgers) hashes.set(l.pipeline.hash, [...(hashes.get(l.pipeline.hash) ?? []), i]);
  if (hashes.size > 1) {
    const groups = [...hashes].map(([h, shards]) => `plan ${h}: shard(s) ${shards.join(", ")}`).join("; ");
    throw mismatch(`the shard ledgers come from different pipelines (${groups}); rerun the odd shards`);
  }
};

/** Every input once, in the order of an unsharded run; refuses an input recorded by two shards. */
const joinEntries = (ledgers: Map<number, Ledger>): LedgerEntry[] => {
  const seen = new Map<string, number>();
  const all: Array<{ readonly shard: number; readonly entry: LedgerEntry }> = [];
  for (const [shard, l] of ledgers) {
    for (const entry of l.inputs) {
      const other = seen.get(entry.input);
      if (other !== undefined) {
        throw mismatch(
          `${entry.input} is in the ledgers of shards ${other} and ${shard}; were they run on ` +
            "different --input sets?",
        );
      }
      seen.set(entry.input, shard);
      all.push({ shard, entry });
    }
  }
  return all.sort((a, b) => (a.entry.index ?? 0) - (b.entry.index ?? 0)).map((a) => a.entry);
};

/** Merges the shard ledgers in `dir` into `dir/dcmflow-run.json`. */
export const mergeLedgers = (dir: string): MergeResult => {
  const { count, ledgers } = readShardLedgers(dir);
  checkSamePipeline(ledgers);
  const missing: number[] = [];
  const unfinished: Array<{ shard: number; why: string }> = [];
  for (let i = 0; i < count; i++) {
    const l = ledgers.get(i);
    const killed = existsSync(join(dir, journalName({ index: i, count })));
    if (!l) {
      if (killed) unfinished.push({ shard: i, why: "killed before it finished (only its journal is there)" });
      else missing.push(i);
    } else if (l.interrupted) {
      unfinished.push({
        shard: i,
        why: `interrupted (${l.interrupted}), ${l.summary.pending ?? 0} input(s) pending`,
      });
    }
  }
  const entries = joinEntries(ledgers);
  const parts = [...ledgers.entries()].sort(([a], [b]) => a - b).map(([, l]) => l);
  const first = parts[0];
  const pending = parts.reduce((n, l) => n + (l.summary.pending ?? 0), 0);
  const ledger: Ledger = {
    pipeline: first.pipeline,
    device: first.device,
    dcmflow: first.dcmflow,
    runtime: first.runtime,
    workers: first.workers,
    merged: {
      shards: count,
      present: parts.map((l) => l.shard?.index ?? -1),
      missing,
      unfinished: unfinished.map((u) => u.shard),
      devices: parts.map((l) => ({ shard: l.shard?.index ?? -1, device: l.device, workers: l.workers })),
    },
    started: parts.map((l) => l.started).sort()[0],
    finished: parts.map((l) => l.finished).sort().reverse()[0],
    summary: summarize(entries, { pending }),
    inputs: entries,
  };
  const path = join(dir, LEDGER_FILE);
  writeJsonAtomic(path, ledger);
  return { ledger, path, count, missing, unfinished };
};
