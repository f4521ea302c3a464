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
import { closeSync, existsSync, openSync, readSync, writeSync } from "node:fs";
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
  const parsed: unknown[] = [];
  forEachRow(path, (row) => {
    try {
      parsed.push(JSON.parse(row));
    } catch {
      return false; // a line cut short by a kill: everything before it is complete
    }
  });
  const [header, ...lines] = parsed as [JournalHeader | undefined, ...JournalLine[]];
  if (header?.journal !== 1) return undefined;
  return { header, lines: lines.filter((l) => typeof l?.index === "number" && l.entry !== undefined) };
};

/**
 * Calls `f` with every input's line of a complete journal (its header skipped), in order, reading the file
 * in chunks: a journal of any length is never held whole. A line that does not parse throws.
 */
export const forEachJournalLine = (path: string, f: (line: JournalLine) => void): void => {
  let header = true;
  forEachRow(path, (row) => {
    if (header) header = false;
    else f(JSON.parse(row) as JournalLine);
  });
};

/** Bytes read at a time by {@link forEachRow}. */
const READ_CHUNK = 1 << 16;

/**
 * Calls `f` with each non-empty line of the file at `path`, in order, reading it in chunks; stops when `f`
 * returns false.
 */
const forEachRow = (path: string, f: (row: string) => boolean | void): void => {
  const fd = openSync(path, "r");
  try {
    // Small chunks: a chunk's lines are garbage before the young generation is next collected (1 MiB chunks
    // had ~1,000 lines at a time live across collections, all promoted to the old generation).
    const chunk = new Uint8Array(READ_CHUNK);
    const decoder = new TextDecoder(); // streaming: a character cut by a chunk's end is completed by the next
    let carry = "";
    for (let position = 0;;) {
      const n = readSync(fd, chunk, 0, chunk.length, position);
      if (n === 0) break;
      position += n;
      const rows = (carry + decoder.decode(chunk.subarray(0, n), { stream: true })).split("\n");
      carry = rows.pop()!;
      for (const row of rows) {
        if (row.trim() !== "" && f(row) === false) return;
      }
    }
    carry += decoder.decode();
    if (carry.trim() !== "") f(carry);
  } finally {
    closeSync(fd);
  }
};
