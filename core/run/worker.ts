/**
 * The worker side of the CPU path: a worker thread plans the run's pipeline once, then processes the rounds
 * of inputs it is sent (see protocol.ts). Its entry module (the face's `worker.ts`) calls
 * {@link serveWorker} with the registry it can rebuild: the built-in stages.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { planText } from "../api.ts";
import type { Registry } from "../registry.ts";
import { workerSide } from "../platform.ts";
import { setTempTag } from "../session.ts";
import { rowBuffers } from "../collect.ts";
import { CpuProcessor, type TaskResult } from "./process.ts";
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

/** Serves the run's rounds on this worker thread until it is terminated. */
export const serveWorker = (registry: Registry): void => {
  let processor: Promise<CpuProcessor> | undefined;
  // Rounds are processed one after another, in the order they arrive.
  let queue: Promise<void> = Promise.resolve();
  const side = workerSide();
  const post = (message: FromWorker, transfer?: ArrayBuffer[]) => side.postMessage(message, transfer);
  side.onMessage((data) => {
    const message = data as ToWorker;
    if (message.type === "init") {
      processor = open(registry, message.init);
      processor.then(
        () => post({ type: "ready" }),
        (e) => post({ type: "init-failed", message: e instanceof Error ? e.message : String(e) }),
      );
      return;
    }
    const ready = processor;
    if (!ready) throw new Error("dcmflow worker: a round arrived before init");
    queue = queue.then(async () => {
      const results = await (await ready).processRound(message.tasks);
      post({ type: "done", id: message.id, results }, transferables(results));
    });
  });
};
