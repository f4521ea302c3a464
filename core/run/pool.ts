/**
 * A pool of worker threads for the CPU path: one per core by default, each planning the pipeline once and
 * then processing rounds of inputs (see worker.ts, protocol.ts).
 *
 * - Rounds are queued and handed to the first idle worker; the caller bounds how many are in flight, so
 *   memory stays flat however many inputs there are.
 * - A worker that dies (a codec abort, an out-of-memory in its heap) turns the inputs of the round it held
 *   into coded errors (`WORKER_CRASHED`) and is replaced; the run goes on.
 * - Until a worker is ready, the caller may take queued rounds back ({@link WorkerPool.takeQueued}) and
 *   process them on its own thread, so the first inputs never wait for workers to start.
 * - Workers may be started before the run is planned ({@link prestartWorkers}: the CLI does it first thing,
 *   so that they load their modules while the main thread loads its own); the pool adopts those started
 *   from its entry module, and {@link releasePrestarted} ends the ones no pool took.
 *
 * @module
 */
import { availableParallelism, hasWorkerThreads, startWorker, type ThreadWorker } from "../platform.ts";
import type { InputTask, TaskResult } from "./process.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";

/** A round waiting for (or held by) a worker. */
interface Job {
  readonly id: number;
  readonly tasks: ReadonlyArray<InputTask>;
  readonly resolve: (results: ReadonlyArray<TaskResult>) => void;
}

/** One worker thread and the rounds it holds (the first in progress, the others queued on its side). */
interface Slot {
  worker: ThreadWorker;
  ready: boolean;
  jobs: Job[];
}

/**
 * Rounds a worker holds at once: the one it processes and the next, already on its side, so it never waits
 * for this thread (busy with its own round, a commit or a journal line) to hand it more work.
 */
const DEPTH = 2;

/**
 * Rounds a worker holds while the calling thread processes rounds too: that thread sees the workers'
 * messages only about every 50 ms (when it waits for a timer, see platform.ts's yieldToEventLoop), so each
 * worker keeps more than that much work on its side.
 */
export const DEPTH_BESIDE_CALLER = 12;

/** The results of a round whose worker died: every input a coded error. */
const crashed = (tasks: ReadonlyArray<InputTask>, why: string): TaskResult[] =>
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

/** Worker threads serving rounds of inputs. */
export class WorkerPool {
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 0;
  #closed = false;
  /** Workers that died before they were ready (a broken entry module: stop respawning after a few). */
  #bootFailures = 0;
  /** Rounds a worker holds at once ({@link DEPTH}, or {@link DEPTH_BESIDE_CALLER}). */
  depth = DEPTH;
  /** Set when workers cannot start at all (the caller then processes everything itself). */
  failed?: string;

  constructor(readonly url: URL | string, count: number, readonly init: WorkerInit) {
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

  /**
   * Queues a round; `done` is called once with one result per task (also when its worker dies). A callback,
   * not a promise: a run submits one round per input, and this thread's own rounds keep its young generation
   * busy, so anything a round allocates that lives until its results come back tends to be promoted to the
   * old generation (see the README's memory notes).
   */
  submit(tasks: ReadonlyArray<InputTask>, done: (results: ReadonlyArray<TaskResult>) => void): void {
    this.#queue.push({ id: this.#nextId++, tasks, resolve: done });
    this.#pump();
  }

  /** Takes the oldest queued round back (for the caller's own thread), if any. */
  takeQueued(): { readonly tasks: ReadonlyArray<InputTask>; readonly resolve: Job["resolve"] } | undefined {
    return this.#queue.shift();
  }

  /** Terminates every worker (rounds they hold stay unanswered; call when nothing is in flight). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#slots) s.worker.terminate();
  }

  #spawn(): Slot {
    const worker = adoptPrestarted(this.url) ?? startWorker(this.url);
    const slot: Slot = { worker, ready: false, jobs: [] };
    worker.onmessage = (event) => this.#onMessage(slot, event.data as FromWorker);
    worker.onerror = (event) => {
      event.preventDefault();
      this.#onCrash(slot, event.message || "uncaught error");
    };
    worker.onmessageerror = () => this.#onCrash(slot, "a message could not be read");
    worker.postMessage({ type: "init", init: this.init } satisfies ToWorker);
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
      case "done": {
        const at = slot.jobs.findIndex((j) => j.id === message.id);
        const [job] = at >= 0 ? slot.jobs.splice(at, 1) : [];
        job?.resolve(message.results);
        break;
      }
    }
    this.#pump();
  }

  #onCrash(slot: Slot, why: string): void {
    slot.worker.terminate();
    const jobs = slot.jobs;
    const at = this.#slots.indexOf(slot);
    if (at >= 0) this.#slots.splice(at, 1);
    if (!slot.ready && ++this.#bootFailures >= 3) this.failed ??= `worker threads do not start: ${why}`;
    if (!this.#closed && !this.failed) this.#slots.push(this.#spawn());
    // The round in progress crashed; the ones queued behind it never started: queue them again.
    const [current, ...waiting] = jobs;
    this.#queue.unshift(...waiting);
    current?.resolve(crashed(current.tasks, why));
    this.#pump();
  }

  /** Hands queued rounds to ready workers, up to {@link DEPTH} each, the least busy first. */
  #pump(): void {
    for (let depth = 1; depth <= this.depth; depth++) {
      for (const slot of this.#slots) {
        if (!slot.ready || slot.jobs.length >= depth || this.#queue.length === 0) continue;
        const job = this.#queue.shift()!;
        slot.jobs.push(job);
        slot.worker.postMessage({ type: "round", id: job.id, tasks: job.tasks } satisfies ToWorker);
      }
    }
  }
}
