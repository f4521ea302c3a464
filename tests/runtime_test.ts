/**
 * The runtime: worker threads, the fused CPU chain, the journaled ledger, resume, interruption, the lock,
 * shards and merge.
 */
import { NodeServices } from "@effect/platform-node";
import { Effect } from "effect";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCtSlice } from "../bench/synthetic.ts";
import { TEMP_MARKER } from "../core/session.ts";
import { prestartWorkers, releasePrestarted } from "../core/run/pool.ts";
import { noGpuDeviceNode } from "../core/gpu/device.ts";
import { ReadBuffers } from "../core/run/process.ts";
import { osName } from "../core/platform.ts";
import {
  decodeNpy,
  type Ledger,
  loadPipeline,
  type RunOptions,
  runPlan,
  STANDALONE_WORKER_URL,
  WORKER_URL,
} from "../mod.ts";
import { maxAbsDiff, readJson, runCli, tempDir } from "./helpers.ts";

const SEED = "pipelines/seed-recipe.yaml";

/** A folder of `n` synthetic CT slices (`size`²) and, optionally, a file that is not DICOM. */
const makeInputs = (n: number, size = 64, broken = true): string => {
  const dir = tempDir("dcmflow-rt-in-");
  for (let i = 0; i < n; i++) {
    writeFileSync(join(dir, `slice-${String(i + 1).padStart(3, "0")}.dcm`), makeCtSlice(size, size, i));
  }
  if (broken) writeFileSync(join(dir, "slice-004b.dcm"), new TextEncoder().encode("not a DICOM file"));
  return dir;
};

const run = (pipeline: string, options: RunOptions): Promise<Ledger> =>
  Effect.runPromise(
    Effect.flatMap(loadPipeline(pipeline), (plan) => runPlan(plan, options)).pipe(
      Effect.provide(NodeServices.layer),
    ),
  );

/** Every file under `dir` (relative paths), sorted. */
const listFiles = (dir: string, rel = ""): string[] =>
  readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(dir, join(rel, e.name)) : [join(rel, e.name)]
  ).sort();

/** The output files of a run folder (not the run's own files) with their bytes. */
const outputsOf = (dir: string): Map<string, Uint8Array> =>
  new Map(
    listFiles(dir).filter((f) => !f.startsWith("dcmflow-run.")).map((f) => [f, readFileSync(join(dir, f))]),
  );

/** A ledger without what legitimately differs between runs: times, thread counts, output folder. */
const comparable = (ledger: Ledger, out: string) =>
  JSON.parse(
    JSON.stringify({ ...ledger, started: 0, finished: 0, workers: 0 }, (k, v) => (k === "ms" ? 0 : v))
      .replaceAll(out, "OUT"),
  );

const assertSameOutputs = (a: string, b: string) => {
  const x = outputsOf(a);
  const y = outputsOf(b);
  assert.deepEqual([...x.keys()], [...y.keys()]);
  for (const [name, bytes] of x) assert.ok(Buffer.compare(bytes, y.get(name)!) === 0, `${name} differs`);
};

Deno.test("workers 0, 1 and 3 give byte-identical outputs and ledgers (times aside), in input order", async () => {
  const inputs = makeInputs(12);
  const outs = [0, 1, 3].map(() => join(tempDir(), "o"));
  const ledgers = [];
  for (const [k, workers] of [0, 1, 3].entries()) {
    ledgers.push(
      await run(SEED, { inputs: [inputs], out: outs[k], device: "cpu", workers, helpWhileStarting: false }),
    );
  }
  assert.equal(ledgers[1].workers, 1);
  assert.equal(ledgers[2].workers, 3);
  for (const k of [1, 2]) {
    assertSameOutputs(outs[0], outs[k]);
    assert.deepEqual(comparable(ledgers[k], outs[k]), comparable(ledgers[0], outs[0]));
  }
  const order = ledgers[2].inputs.map((e) => e.input.slice(inputs.length + 1));
  assert.deepEqual(order, [...order].sort());
  assert.equal(ledgers[2].inputs.find((e) => e.input.endsWith("slice-004b.dcm"))?.error?.code, "NOT_DICOM");
  assert.deepEqual(ledgers[2].summary, { total: 13, ok: 12, error: 1 });
});

Deno.test("the calling thread processing inputs beside a worker, and workers started ahead, change nothing", async () => {
  const inputs = makeInputs(12);
  const alone = join(tempDir(), "o");
  const beside = join(tempDir(), "o");
  const reference = await run(SEED, { inputs: [inputs], out: alone, device: "cpu", workers: 0 });
  // Two workers started ahead from the entry the run uses (no plugins: the self-contained one); it adopts
  // one, the other is ended.
  prestartWorkers(STANDALONE_WORKER_URL, 2);
  const ledger = await run(SEED, { inputs: [inputs], out: beside, device: "cpu", workers: 1 });
  assert.equal(releasePrestarted(), 0, "the run ended the worker it did not adopt");
  assert.equal(ledger.workers, 1);
  assertSameOutputs(alone, beside);
  assert.deepEqual(comparable(ledger, beside), comparable(reference, alone));
});

Deno.test("recording that throws while a worker runs fails the run, never out of the worker's message", async () => {
  const inputs = makeInputs(16, 64, false);
  const out = join(tempDir(), "o");
  const exit = await Effect.runPromiseExit(
    Effect.flatMap(loadPipeline(SEED), (plan) =>
      runPlan(plan, {
        inputs: [inputs],
        out,
        device: "cpu",
        workers: 1,
        helpWhileStarting: false, // every round through the worker: recorded from its messages
        onProgress: (p) => {
          if (p.done >= 5) throw new Error("the progress callback broke");
        },
      })).pipe(Effect.provide(NodeServices.layer)),
  );
  assert.equal(exit._tag, "Failure");
  assert.match(String((exit as { cause: unknown }).cause), /the progress callback broke/);
  // The rounds the worker held were waited for and their staged outputs removed: once the run has failed,
  // nothing is being written into the output folder, and no temporary file is left there.
  const listing = () => readdirSync(out, { recursive: true }).map(String).sort();
  const after = listing();
  assert.deepEqual(after.filter((f) => f.includes(TEMP_MARKER)), [], "staged files left behind");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(listing(), after, "files written into the output folder after the run failed");
});

Deno.test("a worker started ahead from another entry is not adopted; releasePrestarted ends it", async () => {
  prestartWorkers(WORKER_URL, 1);
  const out = join(tempDir(), "o");
  const ledger = await run(SEED, { inputs: [makeInputs(3)], out, device: "cpu", workers: 0 });
  assert.equal(ledger.summary.ok, 3);
  assert.equal(releasePrestarted(), 0, "a run without workers ends those started ahead");
  prestartWorkers(WORKER_URL, 1);
  assert.equal(releasePrestarted(), 1);
  assert.equal(releasePrestarted(), 0);
});

Deno.test("the fused CPU chain equals the stages one by one (within 1e-6) on every decodable fixture", async () => {
  const fixtures = "tests/fixtures/dicom";
  const pipelines = [
    "pipelines/seed-recipe.yaml",
    "pipelines/ct-lung-rgb.yaml",
    "pipelines/dicom-window.yaml",
  ];
  for (const pipeline of pipelines) {
    const fused = join(tempDir(), "fused");
    const plain = join(tempDir(), "plain");
    const a = await run(pipeline, { inputs: [fixtures], out: fused, device: "cpu", workers: 0 });
    const b = await run(pipeline, { inputs: [fixtures], out: plain, device: "cpu", workers: 0, fuse: false });
    assert.deepEqual(a.inputs.map((e) => e.status), b.inputs.map((e) => e.status), pipeline);
    assert.ok(a.summary.ok >= 15, `${pipeline}: only ${a.summary.ok} fixtures decoded`);
    for (const e of a.inputs.filter((e) => e.status === "ok")) {
      for (const path of e.outputs) {
        const twin = path.replace(fused, plain);
        if (path.endsWith(".npy")) {
          const x = decodeNpy(readFileSync(path));
          const y = decodeNpy(readFileSync(twin));
          assert.deepEqual(x.shape, y.shape, path);
          assert.ok(maxAbsDiff(x.data, y.data) <= 1e-6, `${pipeline} ${path}: ${maxAbsDiff(x.data, y.data)}`);
        } else if (path.endsWith(".json")) {
          const x = readJson(path);
          const y = readJson(twin);
          assert.deepEqual(Object.keys(x.stages), Object.keys(y.stages), `${path}: stage notes in order`);
          assert.deepEqual(x.stages, y.stages, path);
        }
      }
    }
  }
});

Deno.test("--resume skips intact outputs, redoes missing or damaged ones, and ends as a clean run does", async () => {
  const inputs = makeInputs(8);
  const clean = join(tempDir(), "clean");
  const out = join(tempDir(), "o");
  const reference = await run(SEED, { inputs: [inputs], out: clean, device: "cpu", workers: 0 });
  await run(SEED, { inputs: [inputs], out, device: "cpu", workers: 0 });
  rmSync(join(out, "slice-002.npy"));
  const damaged = readFileSync(join(out, "slice-005.npy"));
  damaged[damaged.length - 1] ^= 0xff;
  writeFileSync(join(out, "slice-005.npy"), damaged);
  const resumed = await run(SEED, { inputs: [inputs], out, device: "cpu", workers: 0, resume: true });
  // 8 slices ok before; 2 redone; the broken file is redone too (it was not ok).
  assert.equal(resumed.summary.resumed, 6);
  assertSameOutputs(out, clean);
  const { summary: _s, ...rest } = comparable(resumed, out);
  const { summary: _r, ...restRef } = comparable(reference, clean);
  assert.deepEqual(rest, restRef);
  assert.deepEqual({ ...resumed.summary, resumed: undefined }, { ...reference.summary, resumed: undefined });
});

Deno.test("resume refuses a changed pipeline (RESUME_MISMATCH) unless forced", async () => {
  const inputs = makeInputs(2, 64, false);
  const out = join(tempDir(), "o");
  const r1 = await runCli(["run", SEED, "--input", inputs, "--out", out, "-q"]);
  assert.equal(r1.code, 0, r1.stderr);
  const set = ["--set", "stages.window.center=50"];
  const r2 = await runCli(["run", SEED, "--input", inputs, "--out", out, "--resume", ...set, "-q"]);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /RESUME_MISMATCH.*pipeline changed.*--force/s);
  const r3 = await runCli([
    "run",
    SEED,
    "--input",
    inputs,
    "--out",
    out,
    "--resume",
    "--force",
    ...set,
    "-q",
  ]);
  assert.equal(r3.code, 0, r3.stderr);
  assert.match(r3.stdout, /2 resumed/);
});

/**
 * `n` inputs run clean, then again with `workers` and aborted (as by SIGINT) once 3 are recorded: both output
 * folders and the interrupted run's ledger.
 */
const abortedAfterThree = async (n: number, workers: number) => {
  const inputs = makeInputs(n, 64, false);
  const out = join(tempDir(), "o");
  const clean = join(tempDir(), "clean");
  await run(SEED, { inputs: [inputs], out: clean, device: "cpu", workers: 0 });
  const stop = new AbortController();
  const interrupted = await run(SEED, {
    inputs: [inputs],
    out,
    device: "cpu",
    workers,
    signal: stop.signal,
    onProgress: (p) => p.done === 3 && stop.abort("SIGINT"),
  });
  assert.equal(interrupted.interrupted, "SIGINT");
  assert.ok(!listFiles(out).some((f) => f.includes(TEMP_MARKER)));
  return { inputs, out, clean, interrupted };
};

Deno.test("an aborted run records what finished, counts the rest pending, and resume completes it", async () => {
  const { inputs, out, clean, interrupted } = await abortedAfterThree(10, 0);
  assert.equal(interrupted.summary.ok, 3);
  assert.equal(interrupted.summary.pending, 7);
  assert.equal([...outputsOf(out).keys()].filter((f) => f.endsWith(".npy")).length, 3);
  const resumed = await run(SEED, { inputs: [inputs], out, device: "cpu", workers: 0, resume: true });
  assert.equal(resumed.interrupted, undefined);
  assert.deepEqual(resumed.summary, { total: 10, ok: 10, error: 0, resumed: 3 });
  assertSameOutputs(out, clean);
});

Deno.test("an aborted run with workers: rounds nobody claimed are pending, the claimed ones recorded", async () => {
  const { inputs, out, clean, interrupted } = await abortedAfterThree(40, 2);
  const { ok, pending } = interrupted.summary;
  assert.ok(ok >= 3 && ok < 40 && ok + (pending ?? 0) === 40, JSON.stringify(interrupted.summary));
  assert.deepEqual(
    interrupted.inputs.map((e) => e.input),
    readdirSync(inputs).sort().slice(0, ok).map((f) => join(inputs, f)),
    "the recorded inputs are the first ones, in order",
  );
  const resumed = await run(SEED, { inputs: [inputs], out, device: "cpu", workers: 2, resume: true });
  assert.deepEqual(resumed.summary, { total: 40, ok: 40, error: 0, resumed: ok });
  assertSameOutputs(out, clean);
});

/** Starts `dcmflow run` and waits until its journal holds at least `lines` finished inputs. */
const startRun = async (args: ReadonlyArray<string>, journal: string, lines: number) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", "run", ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (existsSync(journal) && readFileSync(journal, "utf8").split("\n").length > lines + 1) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  return child;
};

Deno.test("SIGKILL loses at most the inputs in flight: the journal survives, --resume finishes the run", async () => {
  const inputs = makeInputs(60, 192, false);
  const out = join(tempDir(), "o");
  const clean = join(tempDir(), "clean");
  await run(SEED, { inputs: [inputs], out: clean, device: "cpu", workers: 0 });
  const journal = join(out, "dcmflow-run.journal.jsonl");
  const child = await startRun([SEED, "--input", inputs, "--out", out, "--workers", "1"], journal, 5);
  child.kill("SIGKILL");
  await child.output();
  assert.ok(!existsSync(join(out, "dcmflow-run.json")), "a ledger would describe a run that did not finish");
  const journaled = readFileSync(journal, "utf8").trim().split("\n").slice(1).map((l) => JSON.parse(l));
  assert.ok(journaled.length >= 5 && journaled.length < 60, `${journaled.length} journaled`);
  for (const { entry } of journaled) {
    for (const f of entry.files) {
      assert.equal(readFileSync(f.path).length, f.size, "journaled outputs are whole");
    }
  }
  const r = await runCli(["run", SEED, "--input", inputs, "--out", out, "--resume", "-q"]);
  assert.equal(r.code, 0, r.stderr);
  const ledger = readJson(join(out, "dcmflow-run.json"));
  assert.equal(ledger.summary.total, 60);
  assert.ok(ledger.summary.resumed >= journaled.length);
  assert.ok(!existsSync(journal));
  assert.ok(
    !listFiles(out).some((f) => f.includes(TEMP_MARKER)),
    "the killed run's temporary files are removed",
  );
  assertSameOutputs(out, clean);
});

for (const [sig, exit] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`${sig}: no new inputs, the ledger written, exit ${exit}, never a partial output file`, async () => {
    const inputs = makeInputs(150, 192, false);
    const out = join(tempDir(), "o");
    const child = await startRun(
      [SEED, "--input", inputs, "--out", out],
      join(out, "dcmflow-run.journal.jsonl"),
      3,
    );
    child.kill(sig);
    const { code, stderr, stdout, signal } = await child.output();
    const said = `exit ${code} (signal ${signal}): ${new TextDecoder().decode(stderr)} ${
      new TextDecoder().decode(stdout)
    }`;
    assert.equal(code, exit, said);
    const ledger = readJson(join(out, "dcmflow-run.json"));
    assert.equal(ledger.interrupted, sig);
    assert.equal(ledger.summary.ok + ledger.summary.pending, 150);
    assert.ok(ledger.summary.pending > 0, "the run stopped early");
    const npy = listFiles(out).filter((f) => f.endsWith(".npy"));
    assert.equal(npy.length, ledger.summary.ok);
    for (const e of ledger.inputs) assert.equal(readFileSync(e.files[0].path).length, e.files[0].size);
    assert.ok(!listFiles(out).some((f) => f.includes(TEMP_MARKER)));
  });
}

Deno.test("a live run's folder is refused (OUTPUT_LOCKED); a dead run's lock is taken over", async () => {
  const inputs = makeInputs(1, 64, false);
  const out = tempDir();
  const lock = join(out, "dcmflow-run.lock");
  const { hostname } = await import("node:os");
  writeFileSync(lock, JSON.stringify({ pid: Deno.pid, host: hostname(), started: "now", tag: "x" }));
  const busy = await runCli(["run", SEED, "--input", inputs, "--out", out, "-q"]);
  assert.equal(busy.code, 2);
  assert.match(busy.stderr, /OUTPUT_LOCKED.*another dcmflow run \(pid \d+/);
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  writeFileSync(lock, JSON.stringify({ pid: gone.pid, host: hostname(), started: "then", tag: "x" }));
  const ok = await runCli(["run", SEED, "--input", inputs, "--out", out, "-q"]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(!existsSync(lock), "the lock is released at the end");
  // A shard is refused while an unsharded run holds the folder.
  writeFileSync(lock, JSON.stringify({ pid: Deno.pid, host: hostname(), started: "now", tag: "x" }));
  const shard = await runCli(["run", SEED, "--input", inputs, "--out", out, "--shard", "0/2", "-q"]);
  assert.equal(shard.code, 2);
  rmSync(lock);
});

Deno.test("shards as concurrent processes into one folder; merge equals an unsharded run byte for byte", async () => {
  const inputs = makeInputs(24, 64);
  mkdirSync(join(inputs, "sub"));
  writeFileSync(join(inputs, "sub", "slice-900.dcm"), makeCtSlice(64, 64, 900));
  const whole = join(tempDir(), "whole");
  const out = join(tempDir(), "sharded");
  const unsharded = await runCli(["run", SEED, "--input", inputs, "--out", whole, "-q"]);
  assert.equal(unsharded.code, 1); // the broken input
  const shards = await Promise.all(
    [0, 1, 2].map((i) => runCli(["run", SEED, "--input", inputs, "--out", out, "--shard", `${i}/3`, "-q"])),
  );
  for (const s of shards) assert.ok(s.code === 0 || s.code === 1, s.stderr);
  const counts = [0, 1, 2].map((i) => readJson(join(out, `dcmflow-run.shard-${i}-of-3.json`)).summary.total);
  assert.equal(counts.reduce((a, b) => a + b, 0), 26);
  assert.ok(counts.every((c) => c > 0), `shards ${counts}`);
  const merged = await runCli(["merge", out]);
  assert.equal(merged.code, 1, merged.stderr); // one input failed, as in the unsharded run
  assert.match(merged.stdout, /3 shard\(s\).*26 input\(s\), 25 ok, 1 failed/);
  assertSameOutputs(out, whole);
  const a = readJson(join(out, "dcmflow-run.json"));
  const b = readJson(join(whole, "dcmflow-run.json"));
  assert.deepEqual(
    a.inputs.map((e: { input: string }) => e.input),
    b.inputs.map((e: { input: string }) => e.input),
  );
  assert.deepEqual(a.summary, b.summary);
  assert.equal(a.pipeline.hash, b.pipeline.hash);
});

Deno.test("merge: a missing shard is reported (exit 1); ledgers of other pipelines are refused (exit 2)", async () => {
  const inputs = makeInputs(6, 64, false);
  const out = join(tempDir(), "o");
  for (const i of [0, 2]) {
    const r = await runCli(["run", SEED, "--input", inputs, "--out", out, "--shard", `${i}/3`, "-q"]);
    assert.equal(r.code, 0, r.stderr);
  }
  const partial = await runCli(["merge", out]);
  assert.equal(partial.code, 1);
  assert.match(partial.stdout, /missing shard\(s\): 1/);
  const other = await runCli([
    "run",
    SEED,
    "--input",
    inputs,
    "--out",
    out,
    "--shard",
    "1/3",
    "--set",
    "stages.window.width=300",
    "-q",
  ]);
  assert.equal(other.code, 0, other.stderr);
  const mixed = await runCli(["merge", out]);
  assert.equal(mixed.code, 2);
  assert.match(mixed.stderr, /MERGE_MISMATCH.*different pipelines/);
  const bad = await runCli(["run", SEED, "--input", inputs, "--out", out, "--shard", "3/3"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /I must be below N/);
});

Deno.test("a worker that dies turns its inputs into WORKER_CRASHED and is replaced; the run goes on", async () => {
  const inputs = makeInputs(6, 64, false);
  writeFileSync(join(inputs, "slice-003-crash.dcm"), makeCtSlice(64, 64, 3));
  const out = join(tempDir(), "o");
  const ledger = await run("tests/fixtures/plugins/crash.yaml", {
    inputs: [inputs],
    out,
    device: "cpu",
    workers: 2,
    helpWhileStarting: false,
  });
  const crashed = ledger.inputs.find((e) => e.input.endsWith("crash.dcm"))!;
  assert.equal(crashed.error?.code, "WORKER_CRASHED", JSON.stringify(crashed));
  assert.match(crashed.error!.message, /worker thread processing this input died/);
  assert.deepEqual(ledger.summary, { total: 7, ok: 6, error: 1 });
});

Deno.test("an input whose outputs would land on the run's own files is OUTPUT_CONFLICT; --out must be a folder", async () => {
  const inputs = makeInputs(1, 64, false);
  writeFileSync(join(inputs, "dcmflow-run.dcm"), makeCtSlice(64, 64, 7));
  const out = join(tempDir(), "o");
  const ledger = await run(SEED, { inputs: [inputs], out, device: "cpu", workers: 0 });
  const bad = ledger.inputs.find((e) => e.input.endsWith("dcmflow-run.dcm"))!;
  assert.equal(bad.error?.code, "OUTPUT_CONFLICT");
  assert.ok(readJson(join(out, "dcmflow-run.json")).inputs.length === 2);
  const file = join(tempDir(), "a-file");
  writeFileSync(file, "x");
  const r = await runCli(["run", SEED, "--input", inputs, "--out", file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--out .*a-file is a file/);
  assert.equal(readFileSync(file, "utf8"), "x");
});

Deno.test("the tensor pool reuses an input's arrays only after they are given back, and only its own", async () => {
  const { recycleTensors, tensorBuffer } = await import("../core/cpu/tensor_pool.ts");
  const a = tensorBuffer(1234);
  const b = tensorBuffer(1234);
  assert.notEqual(a.buffer, b.buffer);
  const foreign = new Float32Array(1234);
  recycleTensors([a, a, foreign, b.subarray(1)]);
  assert.equal(tensorBuffer(1234), a, "given back once, reused");
  const c = tensorBuffer(1234);
  assert.ok(c !== a && c !== b && c !== foreign, "views and arrays not from the pool are never taken");
});

Deno.test("device auto: no GPU device node (Linux) means no hardware adapter, so no probe", () => {
  const root = tempDir();
  const node = (path: string) => {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), "");
  };
  const reason = noGpuDeviceNode(root);
  if (osName() !== "linux") return assert.equal(reason, undefined); // elsewhere only the adapter tells
  assert.match(reason ?? "", /no GPU device on this machine \(no .*\/dri\/renderD\*/);
  mkdirSync(join(root, "dri"));
  node("dri/card0"); // a display-only node is not a render node
  assert.notEqual(noGpuDeviceNode(root), undefined);
  node("nvidiactl"); // NVIDIA's control node alone is not a GPU
  assert.notEqual(noGpuDeviceNode(root), undefined);
  for (const gpu of ["dri/renderD128", "nvidia0", "kfd", "dxg"]) {
    node(gpu);
    assert.equal(noGpuDeviceNode(root), undefined, gpu);
    rmSync(join(root, gpu));
  }
});

Deno.test("the read buffers return every byte of files of any size, one slot reused (no stat, grown when full)", () => {
  const dir = tempDir();
  const buffers = new ReadBuffers();
  let seed = 7;
  const random = (n: number) =>
    Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
  for (const size of [0, 1, 65535, 65536, 65537, 300_000, 65536, 10]) {
    const bytes = random(size);
    const path = join(dir, `f-${size}`);
    writeFileSync(path, bytes);
    assert.deepEqual(buffers.read(path, 0), bytes, `${size} bytes`);
  }
  assert.throws(() => buffers.read(join(dir, "missing"), 0), /ENOENT|No such file/);
});
