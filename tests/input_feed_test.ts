/**
 * Issue 12, the run's inputs handed out as it consumes them (core/run/feed.ts): in order, the known entries to
 * the recorder; and the run's decisions on output names the same whether the inputs are listed as the run goes
 * (one --input), checked against every name (several), or planned up front (resumed).
 */
import { NodeServices } from "@effect/platform-node";
import { Effect } from "effect";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCtSlice } from "../bench/synthetic.ts";
import { InputFeed, type KnownInput, type PlannedInput } from "../core/run/feed.ts";
import { Journal } from "../core/run/journal.ts";
import { RunRecorder } from "../core/run/recorder.ts";
import type { InputTask } from "../core/run/process.ts";
import type { LedgerEntry } from "../core/runtime.ts";
import { type Ledger, loadPipeline, type RunOptions, runPlan } from "../mod.ts";
import { tempDir } from "./helpers.ts";

const SEED = "pipelines/seed-recipe.yaml";

Deno.test("the feed hands out the inputs in order: the known ones to the sink, the others to the run", () => {
  const task = (index: number): InputTask => ({ index, path: `p${index}`, outputBase: `p${index}` });
  const known = (index: number): KnownInput => ({
    index,
    entry: { input: `k${index}`, status: "error", outputs: [], ms: 0 },
  });
  const planned: PlannedInput[] = [known(0), task(1), known(2), known(3), task(5), task(6), known(8)];
  const feed = new InputFeed(planned, planned.length, 0);
  assert.equal(feed.tasksAhead(2), 2, "looked at ahead: two inputs to process");
  assert.equal(feed.tasksAhead(10), 3, "all there are");
  const events: string[] = [];
  feed.attach({
    expect: (i) => void events.push(`expect ${i}`),
    accept: (k) => void events.push(`known ${k.index}`),
  });
  assert.equal(feed.next()?.index, 1);
  assert.deepEqual(feed.rest().map((t) => t.index), [5, 6]);
  assert.equal(feed.next(), undefined);
  assert.deepEqual(events, [
    "expect 0",
    "known 0",
    "expect 1",
    "expect 2",
    "known 2",
    "expect 3",
    "known 3",
    "expect 5",
    "expect 6",
    "expect 8",
    "known 8",
  ]);
});

Deno.test("the recorder records in order, inputs announced as they are handed out, whatever order they finish in", () => {
  const journal = Journal.create(join(tempDir(), "j.jsonl"), {
    journal: 1,
    planHash: "x",
    tag: "all",
    started: "",
    total: 0,
  });
  const recorded: number[] = [];
  const recorder = new RunRecorder([], journal, (e) => void recorded.push(Number(e.input)), undefined, {
    keep: false,
  });
  const finish = (index: number) =>
    recorder.accept({ index, entry: { input: String(index), status: "ok", outputs: [], ms: 0 } });
  // 3,000 inputs (every third index: the others are another shard's), announced 10 ahead, finishing in
  // blocks of 5 in reverse order; past 1,024 recorded the list of recorded indices is dropped.
  const indices = Array.from({ length: 3000 }, (_, i) => 3 * i);
  let announced = 0;
  const announce = (upTo: number) => {
    for (; announced < Math.min(upTo, indices.length); announced++) recorder.expect(indices[announced]);
  };
  for (let block = 0; block < indices.length; block += 5) {
    announce(block + 10);
    const five = indices.slice(block, block + 5).reverse();
    for (const [k, index] of five.entries()) {
      finish(index);
      assert.equal(recorder.waiting, k < 4 ? k + 1 : 0);
    }
  }
  assert.deepEqual(recorded, indices);
  assert.deepEqual(recorder.counts(), { recorded: 3000, error: 0 });
  // An interrupted run: inputs never started are skipped, those after them recorded.
  recorder.expect(9000);
  recorder.expect(9003);
  recorder.expect(9006);
  finish(9006);
  assert.equal(recorder.waiting, 1);
  recorder.skip([9000, 9003]);
  assert.deepEqual(recorded.slice(-1), [9006]);
  assert.equal(recorder.waiting, 0);
  journal.close();
});

const run = (options: RunOptions): Promise<Ledger> =>
  Effect.runPromise(
    Effect.flatMap(loadPipeline(SEED), (plan) => runPlan(plan, options)).pipe(
      Effect.provide(NodeServices.layer),
    ),
  );

const summary = (entries: ReadonlyArray<LedgerEntry>) =>
  entries.map((e) => [e.input, e.status, e.error?.code ?? "", e.error?.message ?? ""]);

Deno.test("a failed run's recorder lets go of the inputs waiting for an earlier one: their staged files are removed", () => {
  const dir = tempDir();
  const journal = Journal.create(join(dir, "j.jsonl"), {
    journal: 1,
    planHash: "x",
    tag: "all",
    started: "",
    total: 4,
  });
  const recorder = new RunRecorder([0, 1, 2, 3], journal, () => {});
  const staged = (index: number) => {
    const final = join(dir, `${index}.npy`);
    writeFileSync(`${final}.tmp`, "x");
    return {
      index,
      input: `${index}.dcm`,
      ms: 0,
      staged: [{ tmp: `${final}.tmp`, final, size: 1, sha256: "" }],
    };
  };
  recorder.accept({ index: 0, result: staged(0) });
  recorder.accept({ index: 2, result: staged(2) }); // waits for 1
  recorder.accept({ index: 3, result: staged(3) });
  assert.equal(recorder.waiting, 2);
  assert.equal(recorder.discardWaiting(), 2);
  assert.equal(recorder.waiting, 0);
  journal.close();
  assert.ok(existsSync(join(dir, "0.npy")), "input 0 was recorded: committed");
  assert.deepEqual(readdirSync(dir).sort(), ["0.npy", "j.jsonl"]);
  assert.equal(recorder.discardWaiting(), 0);
});

Deno.test("output-name conflicts: the same entries listed as the run goes, over several --input, and resumed", async () => {
  const root = tempDir();
  mkdirSync(join(root, "in", "deep"), { recursive: true });
  mkdirSync(join(root, "in2"));
  const slice = (path: string, i: number) => writeFileSync(join(root, path), makeCtSlice(32, 32, i));
  ["in/x", "in/x.dcm", "in/x.DCM", "in/y.dcm", "in/deep/x.dcm", "in2/y.dcm", "in2/z.dcm"].forEach(slice);
  const one = await run({ inputs: [join(root, "in")], out: join(root, "o1"), device: "cpu", workers: 0 });
  const conflict = (path: string, owner: string) => [
    join(root, path),
    "error",
    "OUTPUT_CONFLICT",
    `its outputs would overwrite those of ${join(root, owner)} (same name); pass the files' common folder ` +
    "as --input so the outputs keep their relative paths",
  ];
  const ok = (path: string) => [join(root, path), "ok", "", ""];
  assert.deepEqual(summary(one.inputs), [
    ok("in/deep/x.dcm"),
    ok("in/x"),
    conflict("in/x.DCM", "in/x"),
    conflict("in/x.dcm", "in/x"),
    ok("in/y.dcm"),
  ]);
  // Two --input folders: their names meet (the whole run's names are checked).
  const two = await run({
    inputs: [join(root, "in"), join(root, "in2")],
    out: join(root, "o2"),
    device: "cpu",
    workers: 0,
  });
  assert.deepEqual(summary(two.inputs).slice(5), [conflict("in2/y.dcm", "in/y.dcm"), ok("in2/z.dcm")]);
  // Resumed (the list planned up front): the same decisions.
  const again = await run({
    inputs: [join(root, "in"), join(root, "in2")],
    out: join(root, "o2"),
    device: "cpu",
    workers: 0,
    resume: true,
  });
  assert.deepEqual(summary(again.inputs), summary(two.inputs));
  assert.equal(again.summary.resumed, 4);
});
