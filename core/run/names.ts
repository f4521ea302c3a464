/**
 * The run's own files in the output folder, per shard: the ledger, its journal and the lock.
 *
 * - unsharded: `dcmflow-run.json`, `dcmflow-run.journal.jsonl`, `dcmflow-run.lock`
 * - shard I of N: `dcmflow-run.shard-I-of-N.json`, `dcmflow-run.shard-I-of-N.journal.jsonl`, `...lock`
 *
 * @module
 */

/** A deterministic part of the inputs: shard `index` (0-based) of `count`. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Name of the (merged or unsharded) ledger file in the output folder. */
export const LEDGER_FILE = "dcmflow-run.json";

/** The prefix every run file shares (inputs whose outputs would land on such names are refused). */
export const RUN_FILE_PREFIX = "dcmflow-run.";

/** `all` for an unsharded run, `shard-I-of-N` for a shard: names its files and its temporary files. */
export const runTag = (shard?: Shard): string => (shard ? `shard-${shard.index}-of-${shard.count}` : "all");

const stem = (shard?: Shard) => (shard ? `dcmflow-run.${runTag(shard)}` : "dcmflow-run");

/** The ledger of a run (or shard). */
export const ledgerName = (shard?: Shard): string => `${stem(shard)}.json`;

/** The append-only journal of a run in progress (folded into the ledger at the end). */
export const journalName = (shard?: Shard): string => `${stem(shard)}.journal.jsonl`;

/** The lock a live run holds on the output folder. */
export const lockName = (shard?: Shard): string => `${stem(shard)}.lock`;

/** Parses `I/N` (0 <= I < N); a message when it is not one. */
export const parseShard = (text: string): Shard | string => {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  if (!m) return `--shard ${text}: expected I/N, e.g. --shard 0/4 (shards are numbered 0 to N-1)`;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) return `--shard ${text}: N must be at least 1`;
  if (index >= count) {
    return `--shard ${text}: I must be below N (shards are numbered 0 to ${count - 1}, as ` +
      "JOB_COMPLETION_INDEX and a 0-based SLURM_ARRAY_TASK_ID are)";
  }
  return { index, count };
};

/** The shard ledger file name pattern, for `dcmflow merge`. */
export const SHARD_LEDGER = /^dcmflow-run\.shard-(\d+)-of-(\d+)\.json$/;
