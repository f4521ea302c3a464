import assert from "node:assert/strict";
import { CLAIMING, ClaimSlot, IDLE, RoundClaims } from "../core/run/claims.ts";

Deno.test("claims: nothing below the limit, rounds in order up to it, the limit only rises", () => {
  const claims = new RoundClaims();
  assert.equal(claims.claim(), undefined, "nothing is claimable before a limit is set");
  claims.raise(3);
  assert.deepEqual([claims.claim(), claims.claim(), claims.claim(), claims.claim()], [0, 1, 2, undefined]);
  claims.raise(2);
  assert.equal(claims.limit, 3, "a lower limit is ignored");
  claims.raise(5);
  assert.equal(claims.claim(), 3);
  assert.equal(claims.next, 4);
});

Deno.test("claims: closing claims every round left and returns the first; nothing is claimable after", () => {
  const claims = new RoundClaims();
  claims.raise(4);
  claims.claim();
  claims.claim();
  assert.equal(claims.close(), 2, "rounds from 2 on were never claimed");
  assert.equal(claims.claim(), undefined);
  claims.raise(20);
  assert.equal(claims.claim(), undefined, "the run's end: no round beyond it either");
  const done = new RoundClaims();
  done.raise(3);
  [0, 1, 2].forEach(() => done.claim());
  assert.equal(done.close(), 3, "every round claimed: none withdrawn");
});

Deno.test("claims: a slot holds the round its worker claimed, is idle once answered, and counts answers", () => {
  const claims = new RoundClaims();
  const slot = new ClaimSlot();
  assert.equal(slot.held, IDLE);
  assert.equal(slot.answered, 0);
  assert.equal(slot.claimFrom(claims), undefined);
  assert.equal(slot.held, IDLE, "a failed claim leaves the slot idle (not CLAIMING)");
  claims.raise(2);
  assert.equal(slot.claimFrom(claims), 0);
  assert.equal(slot.held, 0);
  slot.answer();
  assert.deepEqual([slot.held, slot.answered], [IDLE, 1]);
  const seen = new ClaimSlot(slot.buffer);
  assert.equal(seen.answered, 1, "another view of the same buffer (the other thread's) sees the same cells");
  assert.notEqual(CLAIMING, IDLE);
});

Deno.test("claims: threads racing on one counter claim every round exactly once", async () => {
  const rounds = 3000;
  const claims = new RoundClaims();
  const url = new URL("./fixtures/workers/claimer.ts", import.meta.url);
  const slots = [0, 1, 2].map(() => new ClaimSlot());
  const workers = slots.map(() => new Worker(url, { type: "module" }));
  try {
    const answers = workers.map((w) =>
      new Promise<number[]>((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => reject(new Error(e.message));
      })
    );
    workers.forEach((w, i) => w.postMessage({ claims: claims.buffer, slot: slots[i].buffer }));
    claims.raise(rounds);
    const mine: number[] = [];
    for (let r = claims.claim(); r !== undefined; r = claims.claim()) mine.push(r);
    const theirs = await Promise.all(answers);
    const all = [...mine, ...theirs.flat()].sort((a, b) => a - b);
    assert.deepEqual(all, Array.from({ length: rounds }, (_, i) => i));
    theirs.forEach((list, i) => {
      assert.deepEqual(list, [...list].sort((a, b) => a - b), "each thread claims in increasing order");
      assert.equal(slots[i].answered, list.length);
      assert.equal(slots[i].held, IDLE);
    });
  } finally {
    workers.forEach((w) => w.terminate());
  }
});
