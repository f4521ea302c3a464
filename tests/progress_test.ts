/**
 * The CLI's progress: rate and time left (from the inputs processed, not those carried over), one line per
 * 5 % off a terminal, terminal redraws at most every 100 ms.
 */
import assert from "node:assert/strict";
import { formatDuration, makeProgress, REDRAW_MS, RunClock } from "../cli/progress.ts";
import type { Progress } from "../mod.ts";

const ok = (i: number): Progress["last"] => ({ input: `in/${i}.dcm`, status: "ok", outputs: [], ms: 1 });

Deno.test("durations read as hours and minutes, minutes and seconds, or seconds", () => {
  assert.deepEqual([0, 42.4, 65, 3599.6, 3725].map(formatDuration), ["0s", "42s", "1m05s", "1h00m", "1h02m"]);
});

Deno.test("the rate counts the inputs processed since the start, not those carried over; time left after 1 s", () => {
  let t = 0;
  const clock = new RunClock(100, 40, () => t);
  assert.deepEqual(clock.tick(40), {}, "40 carried over (resumed), recorded at once: no rate from them");
  t = 500;
  assert.deepEqual(clock.tick(45), { rate: 10 });
  t = 1500;
  assert.deepEqual(clock.tick(55), { rate: 10, left: 4.5 });
  t = 6000;
  assert.deepEqual(clock.tick(100), { rate: 10 }, "finished: nothing left");
});

Deno.test("off a terminal: a line per 5 % with the rate and the time left; errors on their own lines", () => {
  let t = 0;
  const lines: string[] = [];
  const progress = makeProgress(40, { tty: false, now: () => t, write: (s) => lines.push(s) });
  for (let done = 1; done <= 40; done++) {
    t = done * 100;
    const last = done === 7
      ? { ...ok(done), status: "error" as const, error: { code: "DICOM_DECODE", message: "bad" } }
      : ok(done);
    progress.update({ done, total: 40, failed: done >= 7 ? 1 : 0, last });
  }
  assert.equal(lines.length, 21, "20 progress lines and one error");
  assert.equal(lines[0], "2/40 inputs (0 failed) 10.0/s\n");
  assert.equal(lines[3], "error in/7.dcm: DICOM_DECODE: bad\n");
  assert.equal(lines[9], "18/40 inputs (1 failed) 10.0/s, 2s left\n");
  assert.equal(lines.at(-1), "40/40 inputs (1 failed) 10.0/s\n");
});

Deno.test("on a terminal: the bar is redrawn at most every 100 ms, and always at the end", () => {
  let t = 0;
  const out: string[] = [];
  const progress = makeProgress(1000, { tty: true, now: () => t, write: (s) => out.push(s) });
  for (let done = 1; done <= 1000; done++) {
    t = done * 2; // 2 ms per input
    progress.update({ done, total: 1000, failed: 0, last: ok(done) });
  }
  const bars = out.filter((s) => s.startsWith("\r"));
  assert.ok(bars.length >= 15 && bars.length <= 2000 / REDRAW_MS + 2, `${bars.length} redraws`);
  assert.match(bars.at(-1)!, /1000\/1000 500\.0\/s$/);
  assert.equal(out.at(-1), "\n");
  assert.ok(bars.some((b) => / left$/.test(b)), "the time left once a second is measured");
});

Deno.test("quiet: nothing at all", () => {
  const out: string[] = [];
  const progress = makeProgress(3, { quiet: true, tty: false, write: (s) => out.push(s) });
  for (let done = 1; done <= 3; done++) progress.update({ done, total: 3, failed: 0, last: ok(done) });
  assert.deepEqual(out, []);
});
