/**
 * The worker side of the CPU path: a worker thread plans the run's pipeline once, then claims rounds of
 * inputs (claims.ts) and processes them until it is terminated (see protocol.ts). Its entry module (the face's
 * `worker.ts`) calls {@link serveWorker} with the registry it can rebuild: the built-in stages.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { planText } from "../api.ts";
import type { Registry } from "../registry.ts";
import { type WorkerSide, workerSide } from "../platform.ts";
import { setTempTag } from "../session.ts";
import { rowBuffers } from "../collect.ts";
import { ClaimSlot, RoundClaims } from "./claims.ts";
import { CpuProcessor, type InputTask, type TaskResult } from "./process.ts";
import type { FromWorker, ToWorker, WorkerInit } from "./protocol.ts";

/** Plans the pipeline as the main thread did and opens the CPU path. */
const open = async (registry: Registry, init: WorkerInit): Promise<CpuProcessor> => {
  const { text, file, overrides } = init.pipeline;
  const plan = await Effect.runPromise(planText(text, file, { overrides, registry }));
  setTempTag(init.tempTag);
  return new CpuProcessor(plan, init.outDir, { fuse: init.fuse });
};

/** The memory the results' rows own: moved to the main thread with them, not copied (core/collect.ts). */
const transferables = (results: ReadonlyArray<TaskResult>): ArrayBuffer[] => [
  ...new Set(results.flatMap((r) => (r.rows ? rowBuffers(r.rows) : []))),
];

/**
 * One worker's run: the inputs of the rounds it was sent, and the loop that claims, processes and answers
 * them one at a time. It waits for a message only when no round is claimable or the inputs of the one it
 * claimed have not arrived yet: a thread that never waits for one sees none.
 */
class WorkerRounds {
  /**
   * The inputs of rounds this worker may claim: the "rounds" messages as they came (consecutive rounds), those
   * wholly below its last claim dropped. Not a map by round: a map that grows and shrinks by one entry per
   * round reallocates its table each time, and the old tables outlive young-generation collections.
   */
  readonly #batches: Array<
    { readonly from: number; readonly rounds: ReadonlyArray<ReadonlyArray<InputTask>> }
  > = [];
  #wake: (() => void) | undefined;

  constructor(
    readonly side: WorkerSide,
    readonly claims: RoundClaims,
    readonly slot: ClaimSlot,
  ) {}

  /** Takes the inputs of rounds `from`, `from + 1`, ... (a "rounds" message). */
  take(from: number, rounds: ReadonlyArray<ReadonlyArray<InputTask>>): void {
    this.#batches.push({ from, rounds });
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  /** Claims and processes rounds until the thread is terminated (a throw ends the thread: a crash). */
  async serve(processor: CpuProcessor): Promise<never> {
    for (;;) {
      const round = this.slot.claimFrom(this.claims);
      if (round === undefined) {
        await this.#message();
        continue;
      }
      const tasks = await this.#tasksOf(round);
      const results = await processor.processRound(tasks);
      this.side.postMessage(
        { type: "done", id: round, results } satisfies FromWorker,
        transferables(results),
      );
      this.slot.answer();
    }
  }

  /** The inputs of `round`, once they have arrived. */
  async #tasksOf(round: number): Promise<ReadonlyArray<InputTask>> {
    for (let tasks = this.#find(round);; tasks = this.#find(round)) {
      if (tasks) return tasks;
      await this.#message();
    }
  }

  /** The inputs of `round` if they have arrived; drops the batches of earlier rounds (claimed elsewhere). */
  #find(round: number): ReadonlyArray<InputTask> | undefined {
    const batches = this.#batches;
    while (batches.length > 0 && batches[0].from + batches[0].rounds.length <= round) batches.shift();
    const first = batches[0];
    return first && round >= first.from ? first.rounds[round - first.from] : undefined;
  }

  /** Resolves at the next "rounds" message. */
  #message(): Promise<void> {
    return new Promise((resolve) => (this.#wake = resolve));
  }
}

/** Serves the run's rounds on this worker thread until it is terminated. */
export const serveWorker = (registry: Registry): void => {
  const side = workerSide();
  const post = (message: FromWorker) => side.postMessage(message);
  let rounds: WorkerRounds | undefined;
  side.onMessage((data) => {
    const message = data as ToWorker;
    if (message.type === "rounds") {
      if (!rounds) throw new Error("dcmflow worker: rounds arrived before init");
      rounds.take(message.from, message.rounds);
      return;
    }
    const mine = new WorkerRounds(side, new RoundClaims(message.claims), new ClaimSlot(message.slot));
    rounds = mine;
    open(registry, message.init).then(
      (processor) => {
        post({ type: "ready" });
        void mine.serve(processor).catch(crash);
      },
      (e) => post({ type: "init-failed", message: e instanceof Error ? e.message : String(e) }),
    );
  });
};

/** Ends the thread with `error` uncaught, as a throw outside any promise would: the pool's crash path. */
const crash = (error: unknown): void => {
  setTimeout(() => {
    throw error;
  }, 0);
};
