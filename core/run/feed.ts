/**
 * The inputs of a run as the run consumes them: each in order, either work to process or an entry known
 * without processing (resumed, refused), from a list planned up front or from the walk itself as it goes
 * (core/inputs.ts's `walkInputs`: nothing held per input once it is handed out).
 *
 * @module
 */
import type { LedgerEntry } from "../session.ts";
import type { InputTask } from "./process.ts";

/** An input whose entry is known before processing: resumed, or refused (a problem, an output conflict). */
export interface KnownInput {
  readonly index: number;
  readonly entry: LedgerEntry;
  /** Carried over from an earlier run (`--resume`). */
  readonly resumed?: true;
}

/** One input of the run, in order. */
export type PlannedInput = InputTask | KnownInput;

/** Whether a planned input's entry is already known. */
export const isKnown = (p: PlannedInput): p is KnownInput => "entry" in p;

/** Where the feed hands each input as it passes (the run's recorder). */
export interface FeedSink {
  /** `index` is next in the run's order (called for every input, known or not, in order). */
  expect(index: number): void;
  /** A known input's entry. */
  accept(known: KnownInput): void;
}

/** What the CPU path's rounds take their inputs from. */
export interface TaskFeed {
  /** The next input to process (the known ones before it are handed to the sink); undefined at the end. */
  next(): InputTask | undefined;
}

/**
 * The run's inputs: `total` (the journal's header and the progress need it first) and how many are
 * resumed, then the inputs themselves, pulled in order. Inputs looked at ahead of the run (to size the worker
 * pool) wait in a small buffer.
 */
export class InputFeed implements TaskFeed {
  readonly #source: Iterator<PlannedInput>;
  readonly #ahead: PlannedInput[] = [];
  #tasksAhead = 0;
  #sink: FeedSink | undefined;

  constructor(source: Iterable<PlannedInput>, readonly total: number, readonly resumed: number) {
    this.#source = source[Symbol.iterator]();
  }

  /** From now on, every input passing is handed to `sink`. */
  attach(sink: FeedSink): void {
    this.#sink = sink;
  }

  /** The inputs to process ahead, counting up to `limit` (exact when there are fewer). */
  tasksAhead(limit: number): number {
    while (this.#tasksAhead < limit) {
      const r = this.#source.next();
      if (r.done) break;
      this.#ahead.push(r.value);
      if (!isKnown(r.value)) this.#tasksAhead++;
    }
    return this.#tasksAhead;
  }

  next(): InputTask | undefined {
    for (let p = this.#pull(); p !== undefined; p = this.#pull()) {
      this.#sink?.expect(p.index);
      if (!isKnown(p)) return p;
      this.#sink?.accept(p);
    }
    return undefined;
  }

  /** Every input left to process (the known ones among them handed to the sink). */
  rest(): InputTask[] {
    const tasks: InputTask[] = [];
    for (let t = this.next(); t !== undefined; t = this.next()) tasks.push(t);
    return tasks;
  }

  #pull(): PlannedInput | undefined {
    if (this.#ahead.length > 0) {
      const p = this.#ahead.shift()!;
      if (!isKnown(p)) this.#tasksAhead--;
      return p;
    }
    const r = this.#source.next();
    return r.done ? undefined : r.value;
  }
}
