/**
 * The run's record keeper on the owning thread: inputs finish in any order (several workers), and are
 * committed - their staged outputs renamed into place - journaled and reported in input order, so the
 * ledger, the journal and anything that collects rows across inputs read the same whatever the timing.
 *
 * @module
 */
import { releaseRows, type RunCollectors, type StagedRows } from "../collect.ts";
import { commitStaged, discardStaged, type LedgerEntry, okEntry } from "../session.ts";
import { toCodedError } from "../errors.ts";
import type { Journal } from "./journal.ts";
import type { EntryCounts } from "./ledger.ts";
import type { FeedSink } from "./feed.ts";
import type { TaskResult } from "./process.ts";
import { SlidingList } from "./sliding.ts";

/**
 * A finished input: a result to commit, or an entry that is already final (conflicts, resumed inputs, the
 * GPU path's committed inputs with the rows they staged for run-level outputs).
 */
export type Finished =
  | { readonly index: number; readonly result: TaskResult }
  | { readonly index: number; readonly entry: LedgerEntry; readonly rows?: StagedRows };

/** Commits a result's staged outputs; its ledger entry. */
export const commitResult = (r: TaskResult): LedgerEntry => {
  // A grouped input's members (core/group.ts); the warnings of any input that succeeded.
  const group = r.members ? { members: r.members } : {};
  const entry = entryOf(r);
  const warnings = r.warnings && (entry.status === "ok" || r.members) ? { warnings: r.warnings } : {};
  return { ...entry, ...group, ...warnings };
};

/**
 * Lets go of a result that will not be recorded (its run failed): its staged outputs are removed, so that
 * nothing of it is left in the output folder, and its rows' memory is released.
 */
export const discardResult = (r: TaskResult): void => {
  discardStaged(r.staged ?? []);
  if (r.rows) releaseRows(r.rows);
};

const entryOf = (r: TaskResult): LedgerEntry => {
  const { input, ms } = r;
  if (r.error) return { input, status: "error", outputs: [], error: r.error, ms };
  try {
    const files = commitStaged(r.staged ?? []);
    return okEntry(input, files, ms, r.predictions);
  } catch (e) {
    return { input, status: "error", outputs: [], error: { ...toCodedError(e), stage: "commit" }, ms };
  }
};

/** Recorded inputs let go of at a time, at least (see `SlidingList`). */
const DROP_RECORDED = 1024;

/**
 * Accepts finished inputs in any order; commits, journals and reports them in run order. Keeps the recorded
 * entries for the run's ledger unless told not to (`keep: false`: the journal has them, and the ledger is
 * written from it, and no entry is held once recorded).
 */
export class RunRecorder implements FeedSink {
  readonly #entries: LedgerEntry[] = [];
  readonly #keep: boolean;
  /** The indices to record, in order: those before `#head` are recorded (and let go a block at a time). */
  #order: SlidingList<number>;
  /**
   * The inputs finished before their turn, at their place in `#order` (not a map: a map whose size goes up and
   * down by one reallocates its table each time, and the old tables outlive young-generation collections).
   */
  #slots: SlidingList<Finished | undefined>;
  #waiting = 0;
  /** The place in `#order` of the next input to record. */
  #head = 0;
  #recorded = 0;
  #failed = 0;

  /**
   * @param order the indices of this run's inputs, in the order they are recorded (more may follow, see
   *   {@link expect})
   * @param journal where each recorded entry is appended
   * @param onRecord called for each entry as it is recorded (progress)
   * @param collectors the run-level outputs the rows of each recorded input are appended to, in order
   */
  constructor(
    order: ReadonlyArray<number>,
    readonly journal: Journal,
    readonly onRecord: (entry: LedgerEntry, done: number, failed: number) => void,
    readonly collectors?: RunCollectors,
    options: { readonly keep?: boolean } = {},
  ) {
    this.#order = new SlidingList(DROP_RECORDED, [...order]);
    this.#slots = new SlidingList(DROP_RECORDED, order.map(() => undefined));
    this.#keep = options.keep ?? true;
  }

  /** Inputs finished but waiting for an earlier one (they hold their place in memory). */
  get waiting(): number {
    return this.#waiting;
  }

  /** Input `index` comes next in the run's order (the inputs are handed out as the run goes). */
  expect(index: number): void {
    this.#order.push(index);
    this.#slots.push(undefined);
  }

  /** Accepts one finished input and records every input now in order. */
  accept(finished: Finished): void {
    // The next in order (the usual case) is recorded at once; an input finished early waits in its slot.
    if (finished.index === this.#order.at(this.#head)) this.#record(finished);
    else {
      const at = this.#placeOf(finished.index);
      if (this.#slots.at(at) === undefined) this.#waiting++;
      this.#slots.set(at, finished);
    }
    this.#drain();
  }

  /** Where input `index` is in `#order` (ascending, as the inputs are found: a binary search first). */
  #placeOf(index: number): number {
    const found = this.#order.positionOfSorted(index, this.#head);
    if (found >= 0) return found;
    const at = this.#order.positionOf(index, this.#head);
    if (at < 0) throw new Error(`input ${index} is not one of this run's`);
    return at;
  }

  /**
   * Gives up on inputs that will never finish (the run was interrupted before they started): the inputs
   * after them are recorded, and they are left out of the ledger (its summary counts them as pending).
   */
  skip(indices: ReadonlyArray<number>): void {
    const skipped = new Set(indices);
    const order: number[] = [];
    const slots: Array<Finished | undefined> = [];
    for (let at = this.#head; at < this.#order.end; at++) {
      const index = this.#order.at(at)!;
      if (skipped.has(index)) continue;
      order.push(index);
      slots.push(this.#slots.at(at));
    }
    this.#order = new SlidingList(DROP_RECORDED, order);
    this.#slots = new SlidingList(DROP_RECORDED, slots);
    this.#waiting = slots.filter((s) => s !== undefined).length;
    this.#head = 0;
    this.#drain();
  }

  /**
   * The run failed: the inputs finished early and waiting for an earlier one are never recorded; their
   * staged outputs are removed (entries that are already final have none left). How many were let go.
   */
  discardWaiting(): number {
    let discarded = 0;
    for (let at = this.#head; at < this.#order.end; at++) {
      const waiting = this.#slots.at(at);
      if (waiting === undefined) continue;
      this.#slots.set(at, undefined);
      if ("result" in waiting) discardResult(waiting.result);
      discarded++;
    }
    this.#waiting = 0;
    return discarded;
  }

  /** The recorded entries, in run order (none when they are not kept). */
  entries(): ReadonlyArray<LedgerEntry> {
    return this.#entries;
  }

  /** How many entries were recorded, and how many of them are errors. */
  counts(): EntryCounts {
    return { recorded: this.#recorded, error: this.#failed };
  }

  #drain(): void {
    while (this.#waiting > 0 && this.#head < this.#order.end) {
      const next = this.#slots.at(this.#head);
      if (!next) break;
      this.#slots.set(this.#head, undefined);
      this.#waiting--;
      this.#record(next);
    }
  }

  #record(f: Finished): void {
    const { index: _earlier, ...made } = "entry" in f ? f.entry : commitResult(f.result);
    const rows = "entry" in f ? f.rows : f.result.rows;
    // [collect] the rows of a committed input, appended in input order (may turn the entry into an error).
    const collected = this.collectors?.active ? this.collectors.append(f.index, made, rows) : made;
    const entry: LedgerEntry = { index: f.index, ...collected };
    if (entry.status === "error") this.#failed++;
    if (this.#keep) this.#entries.push(entry);
    this.journal.append({ index: f.index, entry });
    this.#recorded++;
    this.#advance();
    this.onRecord(entry, this.#recorded, this.#failed);
  }

  /** Past the input just recorded (the recorded part of the lists is let go a block at a time). */
  #advance(): void {
    this.#head++;
    this.#order.dropBefore(this.#head);
    this.#slots.dropBefore(this.#head);
  }
}
