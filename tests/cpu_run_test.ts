// The CPU run loop (core/run/cpu_run.ts) against a scripted pool: a worker whose answer is lost when it dies
// (its round becomes WORKER_CRASHED once nothing else is claimable), at the end of a run and in the middle
// of one longer than the claim window.
import assert from "node:assert/strict";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RoundClaims } from "../core/run/claims.ts";
import { CLAIM_WINDOW_PER_THREAD, type ClaimPool, runCpu } from "../core/run/cpu_run.ts";
import type { PoolListener, RoundSource } from "../core/run/pool.ts";
import type { InputTask, TaskResult } from "../core/run/process.ts";
import type { Finished } from "../core/run/recorder.ts";
import { tempDir } from "./helpers.ts";

/** One worker, ticking every millisecond: claims a round and answers it - but the answer of `lost` never comes. */
class ScriptedPool implements ClaimPool {
  readonly claims = new RoundClaims();
  readonly size = 1;
  ready = 1;
  failed: string | undefined;
  lastCrash: string | undefined;
  claimed = 0;
  #rounds: RoundSource | undefined;
  #listener: PoolListener | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(readonly lost: number) {}

  begin(rounds: RoundSource, listener: PoolListener): void {
    this.#rounds = rounds;
    this.#listener = listener;
    this.#timer = setInterval(() => this.#tick(), 1);
  }

  offer(limit: number): void {
    this.claims.raise(limit);
  }

  settled(): boolean {
    return true; // the scripted worker is idle between ticks, with every answer it sent delivered
  }

  close(): void {
    clearInterval(this.#timer);
  }

  #tick(): void {
    const round = this.claims.claim();
    if (round === undefined) return;
    this.claimed++;
    const results: TaskResult[] = this.#rounds!.at(round).map((t) => ({
      index: t.index,
      input: t.path,
      ms: 0,
    }));
    if (round !== this.lost) return this.#listener!.answered(round, results);
    // It died after posting this round's answer, which was lost with it; a replacement goes on.
    this.lastCrash = "simulated codec abort";
    this.#listener!.changed();
  }
}

const feedOf = (n: number) => {
  const tasks: InputTask[] = Array.from(
    { length: n },
    (_, i) => ({ index: i, path: `in/${i}.dcm`, outputBase: `${i}` }),
  );
  let next = 0;
  return { next: () => tasks[next++] };
};

const runScripted = async (n: number, lost: number) => {
  const got: Finished[] = [];
  const pool = new ScriptedPool(lost);
  let guard: ReturnType<typeof setTimeout> | undefined;
  const stuck = new Promise<never>((_, reject) => {
    guard = setTimeout(
      () => reject(new Error(`the run never ended (${pool.claimed} rounds claimed)`)),
      10_000,
    );
  });
  const running = runCpu({
    options: { helpWhileStarting: false },
    recorder: { accept: (f) => void got.push(f), discardWaiting: () => {} },
    local: {
      roundSize: 1,
      processRound: () => Promise.reject(new Error("the calling thread must not process rounds here")),
    },
    pool,
  }, feedOf(n));
  try {
    return { got, abandoned: await Promise.race([running, stuck]), pool };
  } finally {
    clearTimeout(guard);
    pool.close();
  }
};

for (const [n, lost] of [[10, 2], [10, 9], [4 * CLAIM_WINDOW_PER_THREAD, 5]]) {
  Deno.test(`a round whose answer was lost with its worker is WORKER_CRASHED (${n} rounds, round ${lost} lost)`, async () => {
    const { got, abandoned, pool } = await runScripted(n, lost);
    assert.deepEqual(abandoned, []);
    assert.equal(pool.claimed, n, "every round claimed once");
    const byIndex = new Map(got.map((f) => ["result" in f ? f.result.index : -1, f]));
    assert.deepEqual([...byIndex.keys()].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    assert.equal(got.length, n, "each input recorded once");
    const crashed = byIndex.get(lost)!;
    assert.ok("result" in crashed);
    assert.equal(crashed.result.error?.code, "WORKER_CRASHED");
    assert.match(crashed.result.error!.message, /simulated codec abort/);
    for (const f of got) {
      if ("result" in f && f.result.index !== lost) assert.equal(f.result.error, undefined);
    }
  });
}

Deno.test("recording that throws fails the run; the round's results not recorded yet have their staged files removed", async () => {
  const dir = tempDir();
  const accepted: number[] = [];
  const round = (tasks: ReadonlyArray<InputTask>): TaskResult[] =>
    tasks.map((t) => {
      const final = join(dir, `${t.index}.npy`);
      writeFileSync(`${final}.tmp`, "x");
      return {
        index: t.index,
        input: t.path,
        ms: 0,
        staged: [{ tmp: `${final}.tmp`, final, size: 1, sha256: "" }],
      };
    });
  let discarded = 0;
  const running = runCpu({
    options: {},
    recorder: {
      accept: (f) => {
        if ("result" in f && f.result.index === 1) throw new Error("the journal cannot be written");
        accepted.push(f.index);
      },
      discardWaiting: () => void discarded++,
    },
    local: { roundSize: 3, processRound: (tasks) => Promise.resolve(round(tasks)) },
  }, feedOf(6));
  await assert.rejects(running, /the journal cannot be written/);
  assert.deepEqual(accepted, [0]);
  assert.equal(discarded, 1, "the inputs waiting in the recorder are let go");
  // Input 0 was accepted (the recorder commits it), 1 threw (the recorder's to handle), 2 was discarded.
  assert.deepEqual(readdirSync(dir).sort(), ["0.npy.tmp", "1.npy.tmp"]);
  rmSync(dir, { recursive: true });
});
