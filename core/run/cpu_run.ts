/**
 * The CPU path's run loop: the rounds of a run pulled from its input feed, processed on this thread alone
 * ({@link runCpu} without a pool) or claimed by this thread and the pool's workers through shared memory
 * (claims.ts), each round's results handed to the run's recorder as they come.
 *
 * @module
 */
import { yieldToEventLoop } from "../platform.ts";
import type { TaskFeed } from "./feed.ts";
import { callerShouldHelp, crashed, type WorkerPool } from "./pool.ts";
import type { InputTask, TaskResult } from "./process.ts";
import { discardResult, type Finished } from "./recorder.ts";
import { SlidingList } from "./sliding.ts";

/** What the run loop needs of a worker pool (a `WorkerPool`; tests give a scripted one). */
export type ClaimPool = Pick<
  WorkerPool,
  "claims" | "ready" | "failed" | "size" | "lastCrash" | "settled" | "offer" | "begin" | "close"
>;

/** What the CPU path needs to know about the run. */
export interface CpuRunContext {
  readonly options: { readonly signal?: AbortSignal; readonly helpWhileStarting?: boolean };
  /** Where each finished input goes (the run's recorder). */
  readonly recorder: {
    accept(finished: Finished): void;
    /** The run failed: the finished inputs waiting for an earlier one are let go (their outputs removed). */
    discardWaiting(): void;
  };
  /** This thread's CPU path. */
  readonly local: {
    readonly roundSize: number;
    processRound(tasks: ReadonlyArray<InputTask>): Promise<ReadonlyArray<TaskResult>>;
  };
  /** The worker threads (none: this thread does everything). */
  readonly pool?: ClaimPool;
}

const aborted = (options: CpuRunContext["options"]) => options.signal?.aborted === true;

/**
 * Records a round's results. When recording one throws (a journal that cannot be written, an `onProgress`
 * that throws), the rest are discarded - their staged outputs removed, not left in the output folder - and
 * the error is rethrown.
 */
const recordAll = (recorder: CpuRunContext["recorder"], results: ReadonlyArray<TaskResult>) => {
  let i = 0;
  try {
    for (; i < results.length; i++) recorder.accept({ index: results[i].index, result: results[i] });
  } catch (error) {
    for (const rest of results.slice(i + 1)) discardResult(rest);
    throw error;
  }
};

/**
 * How far ahead of the earliest unanswered round rounds may be claimed, per thread of the run: results
 * waiting for an earlier one stay bounded (memory stays flat), and a busy calling thread, which sees its
 * workers' answers 20-50 ms late (claims.ts), seldom holds a worker back. Measured on 2 cores: 24 and 48 run
 * 1,024 seed-recipe slices in the same time, and 48 peaks ~3 MiB higher over 10,000 small inputs (results
 * waiting on the main thread live long enough to be promoted).
 */
export const CLAIM_WINDOW_PER_THREAD = 24;

/**
 * The rounds of a CPU run: `size` inputs each (a batching stage's batch, else 1), pulled from the run's feed
 * in order as they are first needed - not made up front (a run of 100,000 inputs held 100,000 one-input
 * arrays, ~95 bytes each, for its whole length), the inputs themselves listed only then - and held until the
 * run lets them go ({@link release}): a round in the claim window may be read again (posted to a worker
 * started later, or turned into coded errors when its worker died).
 */
class Rounds {
  /** The rounds held, by round number (dropped a few dozen at a time once {@link release}d). */
  readonly #held = new SlidingList<InputTask[]>(64);
  #ended = false;

  constructor(readonly feed: TaskFeed, readonly size: number) {}

  /** Rounds pulled so far: every round of the run once {@link ended}. */
  get pulled(): number {
    return this.#held.end;
  }

  /** Whether the feed is exhausted (there is no round from {@link pulled} on). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Pulls rounds until there are `count` or the feed ends; how many there are. */
  fill(count: number): number {
    while (!this.#ended && this.pulled < count) {
      const round = this.#pull();
      if (round.length === 0) this.#ended = true;
      else this.#held.push(round);
    }
    return this.pulled;
  }

  /** Round `i`'s inputs (pulled if it was not yet; it must not have been released). */
  at(i: number): InputTask[] {
    this.fill(i + 1);
    const round = this.#held.at(i);
    if (!round) {
      throw new Error(`dcmflow: round ${i} is not held (from ${this.#held.start}, ${this.pulled} pulled)`);
    }
    return round;
  }

  /** Rounds before `i` are not read again. */
  release(i: number): void {
    this.#held.dropBefore(i);
  }

  /** The input indices of round `from` and every round after it (the rest of the feed is pulled). */
  indicesFrom(from: number): number[] {
    const indices: number[] = [];
    for (const round of this.#held.from(from)) for (const task of round) indices.push(task.index);
    for (let t = this.feed.next(); t !== undefined; t = this.feed.next()) indices.push(t.index);
    this.#ended = true;
    return indices;
  }

  #pull(): InputTask[] {
    const round: InputTask[] = [];
    for (let t: InputTask | undefined; round.length < this.size && (t = this.feed.next()) !== undefined;) {
      round.push(t);
    }
    return round;
  }
}

/** The CPU path on this thread alone; returns the indices never processed (abort). */
const runLocal = async (ctx: CpuRunContext, rounds: Rounds): Promise<number[]> => {
  let next = 0;
  try {
    while (rounds.fill(next + 1) > next && !aborted(ctx.options)) {
      recordAll(ctx.recorder, await ctx.local.processRound(rounds.at(next)));
      rounds.release(++next);
      await yieldToEventLoop(); // signals are seen between rounds
    }
  } catch (error) {
    ctx.recorder.discardWaiting();
    throw error;
  }
  return rounds.indicesFrom(next);
};

/**
 * The CPU path on worker threads: every thread claims the next round itself (claims.ts), up to a window past
 * the earliest unanswered round; this thread processes rounds too until a worker is ready, and all along when
 * the workers leave a core free. Results are recorded in input order whatever the finishing order. On abort,
 * the rounds nobody claimed are withdrawn (not processed). On a failure, too - and the rounds already claimed
 * are waited for and their outputs removed before the run returns: no worker is still writing into the output
 * folder when the caller sees the failure, and no staged file is left there.
 */
class PooledRun {
  /** Which rounds of the window were answered: round r at `r & #mask` (cleared as the window moves). */
  readonly #answered: Uint8Array;
  readonly #mask: number;
  /** The earliest round not answered yet. */
  #earliest = 0;
  /** Set while {@link run} waits for an answer or a change in the pool. */
  #wake: (() => void) | undefined;
  /** Answers and changes in the pool so far. */
  #changes = 0;
  /**
   * What recording a worker's round threw (a journal that cannot be written, an `onProgress` that throws):
   * kept here and rethrown by {@link run}, not thrown out of the worker's message handler.
   */
  #failure: { readonly error: unknown } | undefined;
  /** The first round withdrawn on abort (rounds from there on are never processed). */
  #withdrawnFrom: number | undefined;
  readonly #window: number;
  /** This thread processes rounds all along (the workers leave a core free), not only while they start. */
  readonly #helpAlways: boolean;

  constructor(
    readonly ctx: CpuRunContext,
    readonly rounds: Rounds,
    readonly pool: ClaimPool,
  ) {
    this.#helpAlways = ctx.options.helpWhileStarting !== false && callerShouldHelp(pool.size);
    this.#window = CLAIM_WINDOW_PER_THREAD * (pool.size + 1);
    const slots = 2 ** Math.ceil(Math.log2(this.#window + 1));
    this.#answered = new Uint8Array(slots);
    this.#mask = slots - 1;
    pool.begin(rounds, { answered: this.#onAnswer, changed: this.#onChange });
  }

  /** Runs every round; returns the indices never processed (abort). */
  async run(): Promise<number[]> {
    try {
      await this.#processAll();
    } catch (error) {
      this.#failure ??= { error };
      await this.#settleAfterFailure();
      throw error;
    } finally {
      this.pool.close();
    }
    return this.#withdrawnFrom === undefined ? [] : this.rounds.indicesFrom(this.#withdrawnFrom);
  }

  async #processAll(): Promise<void> {
    while (!this.#finished()) {
      const seen = this.#changes;
      if (this.#failure) throw this.#failure.error;
      if (aborted(this.ctx.options)) this.#withdraw();
      else this.pool.offer(this.rounds.fill(this.#earliest + this.#window));
      if (this.#finished()) break;
      if (await this.#helpOnce()) continue;
      if (this.#lost()) continue;
      await this.#changedSince(seen);
    }
    if (this.#failure) throw this.#failure.error;
  }

  /**
   * After a failure: nothing more is claimed, the rounds the workers hold are waited for (their answers
   * discarded as they come, see {@link #onAnswer}), and so are the inputs the recorder holds for later.
   */
  async #settleAfterFailure(): Promise<void> {
    this.#withdraw();
    while (!this.#finished()) {
      const seen = this.#changes;
      if (this.#lost()) continue;
      await this.#changedSince(seen);
    }
    this.ctx.recorder.discardWaiting();
  }

  /** Whether every round to process was answered. */
  #finished(): boolean {
    const end = this.#withdrawnFrom ?? (this.rounds.ended ? this.rounds.pulled : Infinity);
    return this.#earliest >= end;
  }

  /** Records a round's results as they come (also a dead worker's round: coded errors). */
  readonly #onAnswer = (round: number, results: ReadonlyArray<TaskResult>): void => {
    // A dead worker's answer arriving after its round was given up.
    if (round < this.#earliest || this.#answered[round & this.#mask]) return;
    this.#answered[round & this.#mask] = 1;
    while (this.#answered[this.#earliest & this.#mask]) this.#answered[this.#earliest++ & this.#mask] = 0;
    this.rounds.release(this.#earliest);
    try {
      if (this.#failure) results.forEach(discardResult); // the run failed: nothing more is recorded
      else recordAll(this.ctx.recorder, results);
    } catch (error) {
      this.#failure ??= { error };
    } finally {
      this.#onChange();
    }
  };

  readonly #onChange = (): void => {
    this.#changes++;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  };

  /**
   * Resolves at the next answer or change in the pool - at once if there was one since `seen` (a worker's
   * answer can arrive in any `await`, even of a settled promise: its message's continuation may be queued
   * first).
   */
  #changedSince(seen: number): Promise<void> {
    if (this.#changes !== seen) return Promise.resolve();
    return new Promise((resolve) => (this.#wake = resolve));
  }

  /** Claims every round nobody has claimed: they are not processed (those claimed are answered). */
  #withdraw(): void {
    this.#withdrawnFrom ??= this.pool.claims.close();
  }

  /**
   * Rounds lost with a worker that died after it posted their answer (or while it claimed one): when nothing
   * more can be claimed and every live worker is idle with all its answers in, the rounds still unanswered
   * are coded errors. True if there were any.
   */
  #lost(): boolean {
    const why = this.pool.lastCrash;
    const { claims } = this.pool;
    if (why === undefined || claims.next < claims.limit || !this.pool.settled()) return false;
    const claimed = Math.min(claims.next, this.#withdrawnFrom ?? Infinity, this.rounds.pulled);
    let any = false;
    for (let r = this.#earliest; r < claimed; r++) {
      if (r < this.#earliest || this.#answered[r & this.#mask]) continue;
      this.#onAnswer(r, crashed(this.rounds.at(r), why));
      any = true;
    }
    return any;
  }

  /**
   * Until a worker is ready, all along when the workers leave a core free, or when none can start: claims
   * and processes one round here; true if it did.
   */
  async #helpOnce(): Promise<boolean> {
    const { pool, ctx } = this;
    const starting = pool.ready === 0 && ctx.options.helpWhileStarting !== false;
    const help = pool.failed !== undefined || starting || this.#helpAlways;
    const round = help && !aborted(ctx.options) ? pool.claims.claim() : undefined;
    if (round === undefined) return false;
    this.#onAnswer(round, await ctx.local.processRound(this.rounds.at(round)));
    await yieldToEventLoop(); // worker messages and signals arrive between rounds
    return true;
  }
}

/** The CPU path: worker threads when there are any, else this thread. Returns the indices never processed. */
export const runCpu = (ctx: CpuRunContext, todo: TaskFeed): Promise<number[]> => {
  const rounds = new Rounds(todo, ctx.local.roundSize);
  return ctx.pool ? new PooledRun(ctx, rounds, ctx.pool).run() : runLocal(ctx, rounds);
};
