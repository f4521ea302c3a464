/**
 * Rounds claimed through shared memory: every thread of a CPU run (the calling thread and its workers) takes
 * the next round itself, with an atomic compare-and-swap on a counter they share, instead of waiting for the
 * calling thread to hand it over.
 *
 * Why: a thread busy with rounds of its own sees its workers' messages late - Deno's event loop polls them
 * when it waits for a timer, not on every `setImmediate` turn (18 ms median, 35 ms at the 90th percentile, for
 * a thread yielding every 1.3 ms) - so rounds handed out by message, answer after answer, left a worker idle a
 * third of the time (500 of 760 ms on 1,024 slices). A claimed round needs no answer to be handed out: the
 * worker learns what the round holds from the task lists the calling thread posts as it raises the limit.
 *
 * Layout (Int32 cells):
 * - {@link RoundClaims}: `[0]` the next round to claim, `[1]` the limit (exclusive) below which rounds may be
 *   claimed - the calling thread raises it as rounds are answered, so results waiting for an earlier one stay
 *   bounded, and then posts the task lists of the rounds below it (a worker that claimed a round whose list
 *   is still on its way waits for it; one that found nothing to claim waits for the next list, which finds
 *   the limit raised).
 * - {@link ClaimSlot}, one per worker: `[0]` what the worker holds ({@link IDLE}, {@link CLAIMING} or a round),
 *   `[1]` how many rounds it has answered. A worker that dies leaves there the round it was processing (its
 *   inputs become coded errors), and the count tells the calling thread when every answer posted by the live
 *   workers has arrived (what is still unanswered then was lost with a dead one).
 *
 * @module
 */

/** A slot's worker holds no round. */
export const IDLE = -1;
/** A slot's worker is claiming a round (the round it gets is not written yet). */
export const CLAIMING = -2;

/** The claim limit of closed claims: below every round. */
const CLOSED = -1;
/** The counter of closed claims: beyond every round. */
const PAST_EVERY_ROUND = 0x7fffffff;

/** The run's round counter and claim limit, shared by every thread of the run. */
export class RoundClaims {
  readonly #cells: Int32Array;

  /** Wraps `buffer` (another thread's claims), or makes new claims: round 0 next, nothing claimable. */
  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(8)) {
    this.#cells = new Int32Array(buffer, 0, 2);
  }

  /** The next round to be claimed. */
  get next(): number {
    return Atomics.load(this.#cells, 0);
  }

  /** Rounds below this may be claimed. */
  get limit(): number {
    return Atomics.load(this.#cells, 1);
  }

  /** Claims the next round below the limit; undefined when there is none. */
  claim(): number | undefined {
    for (;;) {
      const next = Atomics.load(this.#cells, 0);
      if (next >= Atomics.load(this.#cells, 1)) return undefined;
      if (Atomics.compareExchange(this.#cells, 0, next, next + 1) === next) return next;
    }
  }

  /** Lets rounds below `limit` be claimed (the limit never falls, and stays closed once closed). */
  raise(limit: number): void {
    const now = Atomics.load(this.#cells, 1);
    if (now !== CLOSED && limit > now) Atomics.store(this.#cells, 1, limit);
  }

  /**
   * Claims every round left: none is processed any more, whatever is raised later. Returns the first of them
   * (rounds below it were claimed by someone and will be answered).
   */
  close(): number {
    Atomics.store(this.#cells, 1, CLOSED);
    return Atomics.exchange(this.#cells, 0, PAST_EVERY_ROUND);
  }
}

/** One worker's cells: the round it holds and how many it has answered. */
export class ClaimSlot {
  readonly #cells: Int32Array;

  /** Wraps `buffer` (made by the calling thread), or makes a new, idle slot. */
  constructor(buffer?: SharedArrayBuffer) {
    this.buffer = buffer ?? new SharedArrayBuffer(8);
    this.#cells = new Int32Array(this.buffer, 0, 2);
    if (!buffer) Atomics.store(this.#cells, 0, IDLE);
  }

  readonly buffer: SharedArrayBuffer;

  /** The round the worker holds, {@link IDLE} or {@link CLAIMING}. */
  get held(): number {
    return Atomics.load(this.#cells, 0);
  }

  /** Rounds the worker has answered (its answer posted). */
  get answered(): number {
    return Atomics.load(this.#cells, 1);
  }

  /** Claims the next round for this slot's worker (written here before it is processed). */
  claimFrom(claims: RoundClaims): number | undefined {
    Atomics.store(this.#cells, 0, CLAIMING);
    const round = claims.claim();
    Atomics.store(this.#cells, 0, round ?? IDLE);
    return round;
  }

  /** The held round's answer was posted: counted, and the slot is idle. */
  answer(): void {
    Atomics.add(this.#cells, 1, 1);
    Atomics.store(this.#cells, 0, IDLE);
  }
}
