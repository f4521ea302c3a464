/**
 * What an earlier run of the same output folder left, for `--resume`: the journal of a killed run, else the
 * ledger of a finished or interrupted one. An input is skipped only when its entry is ok and every output
 * it recorded is still there with the recorded size and SHA-256; everything else is processed again.
 *
 * Also: removing the temporary files a killed run of the same tag left behind.
 *
 * @module
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import { type LedgerEntry, sha256Hex, TEMP_MARKER } from "../session.ts";
import { readJournal } from "./journal.ts";
import type { Ledger } from "./ledger.ts";
import { journalName, ledgerName, type Shard } from "./names.ts";

/** An earlier run's record of this folder and tag. */
export interface Prior {
  readonly planHash: string;
  /** Entries by input path. */
  readonly entries: ReadonlyMap<string, LedgerEntry>;
  /** Where it was read from. */
  readonly from: "journal" | "ledger";
}

/** Reads what the earlier run left: its journal (killed run), else its ledger; undefined when neither. */
export const readPrior = (outDir: string, shard?: Shard): Prior | undefined => {
  const journal = readJournal(join(outDir, journalName(shard)));
  if (journal) {
    const entries = new Map(journal.lines.map((l) => [l.entry.input, l.entry]));
    return { planHash: journal.header.planHash, entries, from: "journal" };
  }
  const path = join(outDir, ledgerName(shard));
  if (!existsSync(path)) return undefined;
  try {
    const ledger = JSON.parse(readFileSync(path, "utf8")) as Ledger;
    const entries = new Map(ledger.inputs.map((e) => [e.input, e]));
    return { planHash: ledger.pipeline.hash ?? "", entries, from: "ledger" };
  } catch {
    return undefined;
  }
};

/** Refuses to resume under a changed pipeline (unless forced). */
export const checkResumable = (prior: Prior, hash: string, force: boolean, outDir: string): void => {
  if (prior.planHash === hash || force) return;
  throw new PipelineError({
    code: "RESUME_MISMATCH",
    message:
      `the pipeline changed since the run in ${outDir} was started (plan ${prior.planHash}, now ${hash}: ` +
      "a stage, a parameter, an override or a plugin differs), so its outputs would not match this run's. " +
      "Run without --resume to start over, or add --force to keep the finished inputs anyway.",
  });
};

/** True when an earlier entry's outputs are all there, intact: the input need not run again. */
export const intact = (entry: LedgerEntry): boolean => {
  if (entry.status !== "ok" || !entry.files || entry.files.length !== entry.outputs.length) return false;
  return entry.files.every((f) => {
    try {
      if (statSync(f.path).size !== f.size) return false;
      return sha256Hex(readFileSync(f.path)) === f.sha256;
    } catch {
      return false;
    }
  });
};

/** Removes, under `dir`, the temporary files of runs of `tag` (a killed run's leftovers); returns how many. */
export const removeTemporaries = (dir: string, tag: string): number => {
  const marker = `${TEMP_MARKER}${tag}-`;
  let removed = 0;
  const walk = (path: string) => {
    for (const entry of readdirSync(path, { withFileTypes: true })) {
      const child = join(path, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.includes(marker)) {
        rmSync(child, { force: true });
        removed++;
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return removed;
};
