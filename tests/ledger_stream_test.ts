/**
 * A run that does not keep its entries in memory (`keepEntries: false`, as the CLI runs) writes its ledger
 * from the journal, one entry at a time: the file is byte for byte the ledger a run keeping them writes, the
 * returned ledger's counts are the same, and the CLI's summary is the same from a digest of the progress.
 */
import { NodeServices } from "@effect/platform-node";
import { Effect } from "effect";
import assert from "node:assert/strict";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCtSlice } from "../bench/synthetic.ts";
import { describeLedger, RunDigest } from "../cli/describe.ts";
import { Journal, readJournal } from "../core/run/journal.ts";
import { type Ledger, writeJsonAtomic, writeLedgerFromJournal } from "../core/run/ledger.ts";
import type { LedgerEntry } from "../core/session.ts";
import { loadPipeline, type RunOptions, runPlan } from "../mod.ts";
import { tempDir } from "./helpers.ts";

/** A ledger around `inputs` (its other fields as a run fills them, `collected` after `inputs`). */
const ledgerWith = (inputs: ReadonlyArray<LedgerEntry>, total = inputs.length): Ledger => ({
  pipeline: { file: "p.yaml", name: "p", overrides: [], hash: "h", stages: [{ use: "decode", with: {} }] },
  device: { kind: "cpu", adapter: "cpu" },
  dcmflow: "0",
  runtime: "deno",
  workers: 1,
  started: "s",
  finished: "f",
  summary: { total, ok: total, error: 0 },
  inputs,
  collected: [{
    name: "stack",
    stage: "write",
    outputs: ["o/stack.npy"],
    rows: 2,
    shape: [2, 1],
    dtype: "f4",
  }],
});

/** Entries of every shape a ledger holds: files, errors, predictions, warnings, rows, empty arrays, unicode. */
const entries = (n: number): LedgerEntry[] =>
  Array.from({ length: n }, (_, i) => {
    const input = `in/é-ü-日本-${"x".repeat(i % 300)}-${i}.dcm`;
    if (i % 7 === 3) {
      return {
        index: i,
        input,
        status: "error",
        outputs: [],
        error: { code: "E", message: 'bad\n"x"' },
        ms: i,
      };
    }
    return {
      index: i,
      input,
      status: "ok",
      outputs: [`o/${i}.npy`],
      files: [{ path: `o/${i}.npy`, size: i, sha256: "ab".repeat(32) }],
      ms: i % 5,
      ...(i % 3 === 0
        ? { predictions: [{ frame: 0, top: [{ index: 0, label: "a", score: 0.5 }], activation: "softmax" }] }
        : {}),
      ...(i % 4 === 0 ? { warnings: ["w"], members: [] } : {}),
      ...(i % 2 === 0 ? { collected: [{ name: "stack", first: i, count: 1 }] } : {}),
    } as LedgerEntry;
  });

const viaJournal = (list: ReadonlyArray<LedgerEntry>): string => {
  const dir = tempDir();
  const journal = Journal.create(join(dir, "j"), {
    journal: 1,
    planHash: "h",
    tag: "all",
    started: "s",
    total: 0,
  });
  for (const entry of list) journal.append({ index: entry.index!, entry });
  journal.close();
  writeLedgerFromJournal(join(dir, "from-journal.json"), ledgerWith([], list.length), join(dir, "j"));
  return readFileSync(join(dir, "from-journal.json"), "utf8");
};

const inMemory = (list: ReadonlyArray<LedgerEntry>): string => {
  const path = join(tempDir(), "ledger.json");
  writeJsonAtomic(path, ledgerWith(list));
  return readFileSync(path, "utf8");
};

Deno.test("ledger from the journal: byte-identical to the ledger written from memory (0, 1 and many entries)", () => {
  // 6,000 entries with long unicode paths: the journal (> 2 MiB) is read in several chunks, cut mid-character.
  for (const n of [0, 1, 2, 6000]) {
    const list = entries(n);
    const text = viaJournal(list);
    assert.equal(text, inMemory(list), `${n} entries`);
    assert.deepEqual(JSON.parse(text).inputs, JSON.parse(JSON.stringify(list)));
  }
});

Deno.test("ledger from the journal: a ledger that already holds entries is refused", () => {
  const dir = tempDir();
  writeFileSync(join(dir, "j"), "");
  assert.throws(() => writeLedgerFromJournal(join(dir, "l.json"), ledgerWith(entries(1)), join(dir, "j")));
});

Deno.test("readJournal (the same chunked reader): every complete line of a long journal, none after a cut", () => {
  const dir = tempDir();
  const path = join(dir, "j");
  const header = { journal: 1, planHash: "h", tag: "all", started: "s", total: 6000 } as const;
  const journal = Journal.create(path, header);
  const list = entries(6000); // > 2 MiB: several chunks, cut mid-character
  for (const entry of list) journal.append({ index: entry.index!, entry });
  journal.close();
  const whole = readJournal(path)!;
  assert.deepEqual(whole.header, header);
  assert.deepEqual(whole.lines.map((l) => l.entry), JSON.parse(JSON.stringify(list)));
  // A kill mid-line: the torn line (and anything after it) is not read.
  appendFileSync(path, '{"index":6000,"entry":{"inp');
  assert.equal(readJournal(path)!.lines.length, 6000);
  appendFileSync(path, '\n{"index":6001,"entry":{"input":"late","status":"ok","outputs":[],"ms":0}}\n');
  assert.equal(readJournal(path)!.lines.length, 6000);
  assert.equal(readJournal(join(dir, "none")), undefined);
});

/** A folder of synthetic CT slices and one file that is not DICOM (an error entry). */
const makeInputs = (n: number): string => {
  const dir = tempDir("dcmflow-ls-in-");
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `s-${i}.dcm`), makeCtSlice(32, 32, i));
  writeFileSync(join(dir, "s-broken.dcm"), "not a DICOM file");
  return dir;
};

const run = (options: RunOptions): Promise<Ledger> =>
  Effect.runPromise(
    Effect.flatMap(loadPipeline("pipelines/seed-recipe.yaml"), (plan) => runPlan(plan, options)).pipe(
      Effect.provide(NodeServices.layer),
    ),
  );

/** The ledger file with what differs between two runs (times, the output folder) made equal. */
const comparableFile = (out: string) =>
  readFileSync(join(out, "dcmflow-run.json"), "utf8")
    .replace(/"(started|finished)": "[^"]*"/g, '"$1": ""')
    .replace(/"ms": \d+/g, '"ms": 0')
    .replaceAll(out, "OUT");

Deno.test("keepEntries: false - the same ledger file and counts, no entries held, the same CLI summary", async () => {
  const inputs = makeInputs(5);
  const kept = join(tempDir(), "o");
  const dropped = join(tempDir(), "o");
  const a = await run({ inputs: [inputs], out: kept, device: "cpu", workers: 0 });
  const digest = new RunDigest();
  const b = await run({
    inputs: [inputs],
    out: dropped,
    device: "cpu",
    workers: 0,
    keepEntries: false,
    onProgress: (p) => digest.add(p.last),
  });
  assert.equal(a.inputs.length, 6);
  assert.equal(b.inputs.length, 0);
  assert.deepEqual(b.summary, a.summary);
  assert.deepEqual(a.summary, { total: 6, ok: 5, error: 1 });
  assert.equal(comparableFile(dropped), comparableFile(kept));
  const summary = (l: Ledger, out: string, d?: RunDigest) =>
    describeLedger(l, out, 1, d).replaceAll(out, "OUT");
  assert.equal(summary(b, dropped, digest), summary(a, kept));
});

Deno.test("run digest: lists the first 30 predictions and 20 failures, counts the rest, width over all", () => {
  const list: LedgerEntry[] = Array.from({ length: 100 }, (_, i) => ({
    input: `p/${"y".repeat(i)}.dcm`,
    status: i % 2 ? "error" : "ok",
    outputs: i % 2 ? [] : ["a", "b"],
    ms: 0,
    ...(i % 2
      ? { error: { code: "E", message: "m" } }
      : { predictions: [{ frame: 0, top: [{ index: 0, label: "a", score: 1 }], activation: "softmax" }] }),
  } as LedgerEntry));
  const d = RunDigest.of(list);
  assert.equal(d.outputs, 100);
  assert.equal(d.predicted.length, 30);
  assert.equal(d.predictedCount, 50);
  assert.equal(d.failed.length, 20);
  assert.equal(d.failedCount, 50);
  assert.equal(d.predictedWidth, "p/".length + 98 + ".dcm".length);
});
