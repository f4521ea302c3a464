/**
 * The messages between the run's owner (main thread) and its worker threads.
 *
 * ```
 * main -> worker  { type: "init", init, claims, slot }   plan the pipeline, open the CPU path
 * worker -> main  { type: "ready" } | { type: "init-failed", message }
 * main -> worker  { type: "rounds", from, rounds }       the inputs of rounds from, from + 1, ...
 * worker -> main  { type: "done", id, results }          round id's results (staged outputs or coded errors)
 * ```
 *
 * A worker claims its rounds itself (claims.ts: `claims` and its own `slot` are shared memory); the main
 * thread posts every round's inputs to every worker as it lets the round be claimed (pool.ts's `offer`).
 * Everything else is plain data (structured clone); a worker re-plans the pipeline from its text, so stages
 * and plugins are imported again on each thread.
 *
 * @module
 */
import type { InputTask, TaskResult } from "./process.ts";

/** How a worker rebuilds the run's plan and CPU path. */
export interface WorkerInit {
  readonly pipeline: {
    readonly text: string;
    readonly file: string;
    readonly overrides: ReadonlyArray<string>;
  };
  readonly outDir: string;
  /** The run's tag for temporary file names (see session.ts). */
  readonly tempTag: string;
  readonly fuse: boolean;
}

/** Main thread -> worker. */
export type ToWorker =
  | {
    readonly type: "init";
    readonly init: WorkerInit;
    /** The run's `RoundClaims` buffer (claims.ts). */
    readonly claims: SharedArrayBuffer;
    /** This worker's `ClaimSlot` buffer (claims.ts). */
    readonly slot: SharedArrayBuffer;
  }
  | {
    readonly type: "rounds";
    /** The round number of `rounds[0]`. */
    readonly from: number;
    readonly rounds: ReadonlyArray<ReadonlyArray<InputTask>>;
  };

/** Worker -> main thread. */
export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "init-failed"; readonly message: string }
  | { readonly type: "done"; readonly id: number; readonly results: ReadonlyArray<TaskResult> };
