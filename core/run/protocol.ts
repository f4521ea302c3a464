/**
 * The messages between the run's owner (main thread) and its worker threads.
 *
 * ```
 * main -> worker  { type: "init", init }            plan the pipeline, open the CPU path
 * worker -> main  { type: "ready" } | { type: "init-failed", message }
 * main -> worker  { type: "round", id, tasks }      process these inputs
 * worker -> main  { type: "done", id, results }     their results (staged outputs or coded errors)
 * ```
 *
 * Everything is plain data (structured clone); a worker re-plans the pipeline from its text, so stages and
 * plugins are imported again on each thread.
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
  | { readonly type: "init"; readonly init: WorkerInit }
  | { readonly type: "round"; readonly id: number; readonly tasks: ReadonlyArray<InputTask> };

/** Worker -> main thread. */
export type FromWorker =
  | { readonly type: "ready" }
  | { readonly type: "init-failed"; readonly message: string }
  | { readonly type: "done"; readonly id: number; readonly results: ReadonlyArray<TaskResult> };
