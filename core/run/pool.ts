/**
 * A pool of worker threads for the CPU path: one per core by default, each planning the pipeline once and
 * then processing rounds of inputs (see worker.ts, protocol.ts).
 *
 * - Each worker claims its next round itself when it is done with one (claims.ts); the caller bounds how far
 *   ahead rounds may be claimed, so memory stays flat however many inputs there are, and posts the inputs of
 *   the rounds it lets be claimed as it does. The caller's own thread claims rounds through the same counter
 *   (all along when the workers leave a core free, and until a worker is ready), so the first inputs never
 *   wait for workers to start.
 * - A worker that dies (a codec abort, an out-of-memory in its heap) turns the inputs of the round it held
 *   into coded errors (`WORKER_CRASHED`) and is replaced; the run goes on.
 * - Workers may be started before the run is planned ({@link prestartWorkers}: the CLI does it first thing,
 *   so that they load their modules while the main thread loads its own); the pool adopts those started
 *   from its entry module, and {@link releasePrestarted} ends the ones no pool took.
 *
 * @module
 */
import { availableParallelism, hasWorkerThreads, startWorker, type ThreadWorker } from "../platform.ts";
import { ClaimSlot, IDLE, RoundClaims } from "./claims.ts";
import type { InputTask, TaskResult } from "./process.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";

/** One worker thread, its shared slot, and what it was sent and answered. */
interface Slot {
  readonly worker: ThreadWorker;
  readonly cells: ClaimSlot;
  ready: boolean;
  /** Rounds below this were posted to it (or claimed before it started). */
  sent: number;
  /** Its answers received here (the slot's own count is of answers posted). */
  received: number;
}

/** What the pool reports to the run that owns it. */
export interface PoolListener {
  /** Round `round`'s results (from a worker's answer, or every input a coded error when its worker died). */
  answered(round: number, results: ReadonlyArray<TaskResult>): void;
  /** A worker became ready, failed to start, or died: what the run waits for may have changed. */
  changed(): void;
}

/** What the pool needs of the run's rounds: the inputs of each (one in the claim window). */
export interface RoundSource {
  at(round: number): ReadonlyArray<InputTask>;
}

/** The results of a round whose worker died: every input a coded error. */
export const crashed = (tasks: ReadonlyArray<InputTask>, why: string): TaskResult[] =>
  tasks.map((t) => ({
    index: t.index,
    input: t.path,
    ms: 0,
    error: {
      code: "WORKER_CRASHED",
      message: `the worker thread processing this input died (${why}); the input was not processed. ` +
        "Run it alone to see whether it is the cause (a damaged file can crash a codec).",
      stage: "worker",
    },
  }));

/**
 * Worker threads a run starts by default: one per core but one, the calling thread processing inputs too
 * (it also commits the results, a small share of the work).
 */
export const defaultWorkerCount = (): number => Math.max(0, availableParallelism() - 1);

/** Whether the calling thread should process inputs all along beside `workers` workers (a core is left). */
export const callerShouldHelp = (workers: number): boolean => workers < availableParallelism();

/** A worker started ahead of its pool; `failed` when it died while loading (it is then not adopted). */
interface Prestarted {
  readonly url: string;
  readonly worker: ThreadWorker;
  failed: boolean;
}

/**
 * Workers started ahead, on the global object: the CLI's entry and the run it loads may be different
 * bundles (two copies of this module).
 */
const PRESTARTED = Symbol.for("dcmflow.prestartedWorkers");
const prestarted = (): Prestarted[] => {
  const global = globalThis as { [PRESTARTED]?: Prestarted[] };
  return (global[PRESTARTED] ??= []);
};

/** Starts `count` workers from `url` now; a pool from the same entry module adopts them. */
export const prestartWorkers = (url: URL | string, count: number): void => {
  if (!hasWorkerThreads()) return; // the run then runs on the calling thread
  for (let i = 0; i < count; i++) {
    const worker = startWorker(url);
    const entry: Prestarted = { url: String(url), worker, failed: false };
    // Until adopted, a failure is only noted (the pool then starts a worker of its own, and handles that).
    worker.onerror = (event) => {
      event.preventDefault();
      entry.failed = true;
    };
    prestarted().push(entry);
  }
};

/** Takes a worker started ahead from `url`, if one is left (one that died while loading is ended). */
const adoptPrestarted = (url: URL | string): ThreadWorker | undefined => {
  const list = prestarted();
  for (const entry of list.filter((p) => p.url === String(url))) {
    list.splice(list.indexOf(entry), 1);
    if (!entry.failed) return entry.worker;
    entry.worker.terminate();
  }
  return undefined;
};

/** Ends the workers started ahead that no pool adopted (a run that needed fewer, or none); how many. */
export const releasePrestarted = (): number => {
  const left = prestarted().splice(0);
  for (const entry of left) entry.worker.terminate();
  return left.length;
};

/** How a pool gets a worker thread running `url`. */
export type StartWorker = (url: URL | string) => ThreadWorker;

/** A worker started ahead from `url` if one is left ({@link prestartWorkers}), else a new one. */
const adoptOrStart: StartWorker = (url) => adoptPrestarted(url) ?? startWorker(url);

/**
 * Worker threads claiming rounds of inputs (claims.ts). The run hands the pool its rounds
 * ({@link WorkerPool.begin}), raises the claim limit as rounds are answered ({@link WorkerPool.offer}: then
 * the inputs of the rounds below the new limit are posted to every worker), and may claim rounds on its own
 * thread through {@link WorkerPool.claims}.
 */
export class WorkerPool {
  readonly #slots: Slot[] = [];
  #closed = false;
  /** Workers that died before they were ready (a broken entry module: stop respawning after a few). */
  #bootFailures = 0;
  #rounds: RoundSource | undefined;
  #listener: PoolListener | undefined;
  /** Why the last worker that died died, for inputs whose answers were lost with it. */
  #lastCrash: string | undefined;
  /** The run's round counter and claim limit, shared with the workers. */
  readonly claims = new RoundClaims();
  /** Set when workers cannot start at all (the caller then processes everything itself). */
  failed?: string;

  /**
   * @param start how each worker (the first ones, and those replacing a dead one) is started: by default one
   *   started ahead is adopted, else a new thread (tests give workers that record what they are sent)
   */
  constructor(
    readonly url: URL | string,
    count: number,
    readonly init: WorkerInit,
    private readonly start: StartWorker = adoptOrStart,
  ) {
    for (let i = 0; i < count; i++) this.#slots.push(this.#spawn());
  }

  /** How many workers the pool runs. */
  get size(): number {
    return this.#slots.length;
  }

  /** How many workers are ready to take rounds. */
  get ready(): number {
    return this.#slots.filter((s) => s.ready).length;
  }

  /** Why a worker died, once one has (its answers may have been lost with it). */
  get lastCrash(): string | undefined {
    return this.#lastCrash;
  }

  /** Starts serving `rounds`: answers and changes go to `listener`. Nothing is claimable until an offer. */
  begin(rounds: RoundSource, listener: PoolListener): void {
    this.#rounds = rounds;
    this.#listener = listener;
  }

  /**
   * Lets rounds below `limit` be claimed: raises the shared limit, then posts their inputs to every worker
   * that was not sent them yet. In that order: a worker that finds nothing to claim waits for its next
   * "rounds" message, so each message must find the limit already raised. Posted first, a message could
   * reach a worker that then tried to claim before the raise, failed, and waited for the message of the next
   * raise, which needs an answer: with every worker asleep that way at once (and this thread not processing
   * rounds), the run hung (4 runs in 25 with `--workers 2` on 2 busy cores). A worker that claims a round
   * whose inputs are still on their way waits for them (worker.ts), and they are: posted here before this
   * call returns.
   */
  offer(limit: number): void {
    this.claims.raise(limit);
    for (const slot of this.#slots) this.#send(slot, limit);
  }

  /**
   * Whether every live worker is idle and every answer it posted has arrived: rounds claimed and still
   * unanswered then were lost with a worker that died.
   */
  settled(): boolean {
    return this.#slots.every((s) => s.cells.held === IDLE && s.cells.answered === s.received);
  }

  /** Terminates every worker. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s.worker.terminate();
  }

  /** Posts the inputs of rounds from `slot.sent` up to `limit` to its worker. */
  #send(slot: Slot, limit: number): void {
    const rounds = this.#rounds;
    if (!rounds || slot.sent >= limit) return;
    const from = slot.sent;
    const batch: ReadonlyArray<InputTask>[] = [];
    for (let r = from; r < limit; r++) batch.push(rounds.at(r));
    slot.sent = limit;
    slot.worker.postMessage({ type: "rounds", from, rounds: batch } satisfies ToWorker);
  }

  #spawn(): Slot {
    const worker = this.start(this.url);
    // Rounds already claimed are not its; those claimable and not claimed yet are sent now.
    const slot: Slot = { worker, cells: new ClaimSlot(), ready: false, sent: this.claims.next, received: 0 };
    worker.onmessage = (event) => this.#onMessage(slot, event.data as FromWorker);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#onCrash(slot, event.message || "uncaught error");
    };
    worker.onmessageerror = () => this.#onCrash(slot, "a message could not be read");
    const init: ToWorker = {
      type: "init",
      init: this.init,
      claims: this.claims.buffer,
      slot: slot.cells.buffer,
    };
    worker.postMessage(init);
    this.#send(slot, this.claims.limit);
    return slot;
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.type) {
      case "ready":
        slot.ready = true;
        break;
      case "init-failed":
        this.failed = message.message;
        slot.worker.terminate();
        this.#slots.splice(this.#slots.indexOf(slot), 1);
        break;
      case "done":
        slot.received++;
        this.#listener?.answered(message.id, message.results);
        return;
    }
    this.#listener?.changed();
  }

  #onCrash(slot: Slot, why: string): void {
    slot.worker.terminate();
    const at = this.#slots.indexOf(slot);
    if (at < 0) return; // already handled (an error and an unreadable message)
    this.#slots.splice(at, 1);
    this.#lastCrash = why;
    if (!slot.ready && ++this.#bootFailures >= 3) this.failed ??= `worker threads do not start: ${why}`;
    if (!this.#closed && !this.failed) this.#slots.push(this.#spawn());
    // The round it was processing (if it held one): its inputs are coded errors.
    const held = slot.cells.held;
    if (held >= 0 && this.#rounds) this.#listener?.answered(held, crashed(this.#rounds.at(held), why));
    this.#listener?.changed();
  }
}
