/**
 * The pool's offer: the claim limit is raised before the rounds' inputs are posted. A worker that finds
 * nothing to claim waits for its next "rounds" message; a message that could arrive before the raise left a
 * worker asleep for good (runs with `--workers 2` hung at their last rounds).
 */
import assert from "node:assert/strict";
import { type ThreadWorker } from "../core/platform.ts";
import { WorkerPool } from "../core/run/pool.ts";
import type { InputTask } from "../core/run/process.ts";
import type { ToWorker } from "../core/run/protocol.ts";

/** A worker thread that only records what it is sent, and the claim limit at that moment. */
class RecordingWorker implements ThreadWorker {
  onmessage: ThreadWorker["onmessage"] = null;
  onerror: ThreadWorker["onerror"] = null;
  onmessageerror: ThreadWorker["onmessageerror"] = null;
  readonly seen: Array<{ readonly message: ToWorker; readonly limit: number }> = [];
  limitNow: () => number = () => NaN;

  postMessage(message: unknown): void {
    this.seen.push({ message: message as ToWorker, limit: this.limitNow() });
  }

  terminate(): void {}
}

const task = (index: number): InputTask => ({ index, path: `in/${index}.dcm`, outputBase: `${index}` });

Deno.test("pool: every round offered is claimable by the time its inputs reach a worker", () => {
  const workers = [new RecordingWorker(), new RecordingWorker()];
  let started = 0;
  const init = {
    pipeline: { text: "", file: "p.yaml", overrides: [] },
    outDir: "out",
    tempTag: "all",
    fuse: true,
  };
  const pool = new WorkerPool("dcmflow-test:recording-worker", 2, init, () => workers[started++]);
  try {
    assert.equal(started, 2);
    for (const w of workers) w.limitNow = () => pool.claims.limit;
    pool.begin({ at: (r) => [task(r)] }, { answered: () => {}, changed: () => {} });
    pool.offer(3);
    pool.offer(5);
    pool.offer(5); // nothing new: nothing posted
    for (const w of workers) {
      const rounds = w.seen.filter((s) => s.message.type === "rounds");
      assert.deepEqual(
        rounds.map((s) => s.message.type === "rounds" ? [s.message.from, s.message.rounds.length] : []),
        [[0, 3], [3, 2]],
        "each worker is sent the inputs of every round it may claim, once",
      );
      for (const { message, limit } of rounds) {
        if (message.type !== "rounds") continue;
        assert.ok(
          limit >= message.from + message.rounds.length,
          `rounds ${message.from}+${message.rounds.length} were posted while the limit was ${limit}`,
        );
      }
    }
  } finally {
    pool.close();
  }
});
