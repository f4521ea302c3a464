/**
 * The journal: the ledger as it grows, one JSON line per finished input, appended (and flushed to the
 * file) as each input commits, so a killed run loses at most the inputs in flight. The first line is the
 * run's header. A complete run folds the journal into its ledger and removes it; a journal without a
 * ledger beside it is a run that was killed (`--resume` continues it).
 *
 * ```
 * {"journal":1,"planHash":"...","tag":"all","started":"..."}
 * {"index":0,"entry":{"input":"a/x.dcm","status":"ok",...}}
 * ```
 *
 * @module
 */
import { closeSync, existsSync, openSync, readFileSync, writeSync } from "node:fs";
import type { LedgerEntry } from "../session.ts";

/** The header line of a journal. */
export interface JournalHeader {
  readonly journal: 1;
  /** The plan hash of the run (see plan_hash.ts). */
  readonly planHash: string;
  /** `all` or `shard-I-of-N`. */
  readonly tag: string;
  readonly started: string;
  /** Inputs the run discovered for its tag. */
  readonly total: number;
}

/** One journal line per finished input: its position among all inputs found, and its ledger entry. */
export interface JournalLine {
  readonly index: number;
  readonly entry: LedgerEntry;
}

/** An open journal, appended line by line. */
export class Journal {
  #fd: number | undefined;

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /** Creates (or truncates) the journal at `path` and writes its header. */
  static create(path: string, header: JournalHeader): Journal {
    const journal = new Journal(openSync(path, "w"));
    journal.#write(header);
    return journal;
  }

  /** Appends one finished input. */
  append(line: JournalLine): void {
    this.#write(line);
  }

  #write(value: unknown): void {
    if (this.#fd === undefined) throw new Error("journal is closed");
    writeSync(this.#fd, JSON.stringify(value) + "\n");
  }

  /** Closes the file (the journal stays on disk until the run removes it). */
  close(): void {
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }
}

/** What a journal on disk holds: its header and every complete line (a torn last line is ignored). */
export interface JournalContents {
  readonly header: JournalHeader;
  readonly lines: ReadonlyArray<JournalLine>;
}

/** Reads a journal; undefined when there is none or its header is unreadable. */
export const readJournal = (path: string): JournalContents | undefined => {
  if (!existsSync(path)) return undefined;
  const rows = readFileSync(path, "utf8").split("\n");
  const parsed: unknown[] = [];
  for (const row of rows) {
    if (row.trim() === "") continue;
    try {
      parsed.push(JSON.parse(row));
    } catch {
      break; // a line cut short by a kill: everything before it is complete
    }
  }
  const [header, ...lines] = parsed as [JournalHeader | undefined, ...JournalLine[]];
  if (header?.journal !== 1) return undefined;
  return { header, lines: lines.filter((l) => typeof l?.index === "number" && l.entry !== undefined) };
};
