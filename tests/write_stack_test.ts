// `write` with `format: npy, stack: true`: one [N, C, H, W] file + index for the run, equal to the per-input
// files concatenated in input order; the npy header and the CSV checked from TypeScript; failed and
// mismatched inputs leave no row; the run-level output hook (core/collect.ts) orders rows by input index and
// never leaves a complete-looking file before it finishes.
import assert from "node:assert/strict";
import { NodeServices } from "@effect/platform-node";
import { Effect } from "effect";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { planText, readHeader, runPlan as runWithWorkers } from "../mod.ts";
import { releaseRows, rowBuffers, RunCollectors, type StagedRows } from "../core/collect.ts";
import { recycleTensors, tensorBuffer } from "../core/cpu/tensor_pool.ts";
import { Journal } from "../core/run/journal.ts";
import type { TaskResult } from "../core/run/process.ts";
import { RunRecorder } from "../core/run/recorder.ts";
import { decodeNpy } from "../core/npy.ts";
import type { Plan } from "../core/planner.ts";
import { type Ledger, type RunOptions, runPlan } from "../core/runtime.ts";
import { csvField, INDEX_COLUMNS, stackCollection, type StackRow } from "../plugins/write/stack.ts";
import { findBun, gpuTest, readNpy, runCli, tempDir } from "./helpers.ts";

const provide = <A, E>(e: Effect.Effect<A, E, unknown>) =>
  Effect.runPromise(e.pipe(Effect.provide(NodeServices.layer)) as Effect.Effect<A, E>);

const pipeline = (write: string, extra = "") =>
  `dcmflow: 1
name: lung set
stages:
  - use: decode
  - use: rescale
  - use: resize
    with: { width: 32, height: 24 }
  - use: normalize
    with: { mode: minmax, per: frame }
  - use: write
    with: ${write}
${extra}`;

const plan = (yaml: string) => Effect.runPromise(planText(yaml, "lung-set.yaml"));

const run = (p: Plan, inputs: string[], options: Partial<RunOptions> = {}) => {
  const out = join(tempDir(), "out");
  return provide(runPlan(p, { inputs, out, device: "cpu", ...options })).then((ledger: Ledger) => ({
    ledger,
    out,
  }));
};

/** Sample slices, a 4-frame image in the middle of the order, and a broken file. */
const inputsDir = () => {
  const dir = tempDir();
  for (const f of readdirSync("samples/ct-study")) copyFileSync(join("samples/ct-study", f), join(dir, f));
  copyFileSync("tests/fixtures/dicom/multiframe.dcm", join(dir, "slice-003b.dcm"));
  copyFileSync("tests/fixtures/dicom/not_dicom.dcm", join(dir, "slice-004b.dcm"));
  return dir;
};

/** Parses `<name>.index.csv` (no quoted fields in these tests). */
const readIndex = (path: string) => {
  const [head, ...lines] = readFileSync(path, "utf8").trimEnd().split("\n");
  assert.equal(head, INDEX_COLUMNS.join(","));
  return lines.map((l) => {
    const [row, input, frame, sop, series] = l.split(",");
    return { row: Number(row), input, frame: Number(frame), sop, series };
  });
};

/** Checks the raw npy header the way numpy.load reads it. */
const checkHeader = (path: string, shape: number[]) => {
  const bytes = new Uint8Array(readFileSync(path));
  assert.deepEqual([...bytes.subarray(0, 8)], [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const headerLen = bytes[8] | (bytes[9] << 8);
  const offset = 10 + headerLen;
  assert.equal(offset % 64, 0, "data must start at a multiple of 64 bytes");
  const text = new TextDecoder("latin1").decode(bytes.subarray(10, offset));
  assert.match(
    text,
    new RegExp(`^\\{'descr': '<f4', 'fortran_order': False, 'shape': \\(${shape.join(", ")}\\), \\} *\\n$`),
  );
  assert.equal(bytes.length, offset + shape.reduce((a, b) => a * b, 1) * 4, "file size = header + N*C*H*W*4");
};

Deno.test("stack: one [N, C, H, W] file equal to the per-input files concatenated, with an index CSV", async () => {
  const dir = inputsDir();
  const perInput = await run(await plan(pipeline("{ format: npy }")), [dir]);
  const stacked = await run(await plan(pipeline("{ format: npy, stack: true }")), [dir]);
  for (const l of [perInput.ledger, stacked.ledger]) {
    assert.equal(l.summary.total, 8);
    assert.equal(l.summary.error, 1);
    assert.equal(l.inputs.find((e) => e.input.endsWith("slice-004b.dcm"))?.error?.code, "NOT_DICOM");
  }
  // Expected: the per-input files of the successful inputs, in input order.
  const ok = perInput.ledger.inputs.filter((e) => e.status === "ok");
  const parts = ok.map((e) => readNpy(e.outputs[0]));
  const frames = parts.reduce((n, p) => n + p.shape[0], 0);
  assert.equal(frames, 6 + 4);
  const npy = join(stacked.out, "lung_set.npy");
  const csv = join(stacked.out, "lung_set.index.csv");
  checkHeader(npy, [frames, 1, 24, 32]);
  const all = readNpy(npy);
  assert.deepEqual(all.shape, [frames, 1, 24, 32]);
  assert.deepEqual(all.data, parts.flatMap((p) => p.data), "stack != per-input files concatenated");
  // Only the stack and the ledger were written.
  assert.deepEqual(readdirSync(stacked.out).sort(), [
    "dcmflow-run.json",
    "lung_set.index.csv",
    "lung_set.npy",
  ]);
  // The index: one line per row, in order, naming the input, its frame and its UIDs.
  const index = readIndex(csv);
  assert.deepEqual(index.map((r) => r.row), Array.from({ length: frames }, (_, i) => i));
  const expected = ok.flatMap((e, k) => {
    const meta = readHeader(new Uint8Array(readFileSync(e.input)));
    return Array.from({ length: parts[k].shape[0] }, (_, f) => ({
      input: e.input,
      frame: f,
      sop: meta.sopInstanceUid ?? "",
      series: meta.seriesInstanceUid ?? "",
    }));
  });
  assert.deepEqual(index.map(({ row: _, ...r }) => r), expected);
  assert.ok(!index.some((r) => r.input.endsWith("slice-004b.dcm")), "a failed input leaves no row");
  // The ledger names the file and its shape; each input says which rows it added.
  assert.deepEqual(stacked.ledger.collected, [{
    name: "lung_set",
    stage: "write",
    outputs: [npy, csv],
    rows: frames,
    shape: [frames, 1, 24, 32],
    dtype: "float32",
  }]);
  // Worker threads (2, the main thread helping while they start): rows arrive out of order from several
  // threads, and the stack is byte for byte the same.
  const out = join(tempDir(), "out");
  const p = await plan(pipeline("{ format: npy, stack: true }"));
  const threaded = await provide(
    runWithWorkers(p, { inputs: [dir], out, device: "cpu", workers: 2, helpWhileStarting: true }),
  );
  assert.equal(threaded.workers, 2);
  assert.deepEqual(readFileSync(join(out, "lung_set.npy")), readFileSync(npy));
  assert.deepEqual(readFileSync(join(out, "lung_set.index.csv")), readFileSync(csv));
  const multi = stacked.ledger.inputs.find((e) => e.input.endsWith("slice-003b.dcm"))!;
  assert.deepEqual(multi.collected, [{ name: "lung_set", first: 3, count: 4 }]);
  assert.equal(stacked.ledger.inputs.find((e) => e.status === "error")?.collected, undefined);
});

Deno.test("stack: inputs whose shape differs from the first become STACK_SHAPE_MISMATCH errors, no row, no file", async () => {
  const dir = tempDir();
  // Input order: a-*.dcm (200x180, first) before the sample slices (256x256).
  copyFileSync("tests/fixtures/e2e/ct-signed16.dcm", join(dir, "a-first.dcm"));
  for (const f of readdirSync("samples/ct-study").slice(0, 2)) {
    copyFileSync(join("samples/ct-study", f), join(dir, f));
  }
  copyFileSync("tests/fixtures/e2e/ct-unsigned12.dcm", join(dir, "z-last.dcm"));
  const yaml = `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: write
    with: { format: json }
  - use: write
    id: stack
    with: { format: npy, stack: true, name: mixed }
`;
  const { ledger, out } = await run(await plan(yaml), [dir]);
  assert.deepEqual(ledger.inputs.map((e) => e.error?.code ?? e.status), [
    "ok",
    "STACK_SHAPE_MISMATCH",
    "STACK_SHAPE_MISMATCH",
    "ok",
  ]);
  const refused = ledger.inputs[1];
  assert.equal(refused.error?.stage, "stack");
  assert.match(refused.error!.message, /\[1, 1, 256, 256\] does not fit the stacked rows \[N, 1, 200, 180\]/);
  assert.match(refused.error!.message, /a-first\.dcm.*add a resize/);
  // A refused input leaves nothing: its json was removed too.
  assert.deepEqual(readdirSync(out).filter((f) => f.endsWith(".json")).sort(), [
    "a-first.json",
    "dcmflow-run.json",
    "z-last.json",
  ]);
  assert.deepEqual(readNpy(join(out, "mixed.npy")).shape, [2, 1, 200, 180]);
  assert.deepEqual(readIndex(join(out, "mixed.index.csv")).map((r) => r.input), [
    join(dir, "a-first.dcm"),
    join(dir, "z-last.dcm"),
  ]);
});

Deno.test("stack: an interrupted run writes no stack; --resume runs the stacked inputs again; shards", async () => {
  const dir = inputsDir();
  const p = await plan(pipeline("{ format: npy, stack: true }"));
  const fresh = await run(p, [dir]);
  const out = join(tempDir(), "out");
  const stop = new AbortController();
  const cut = await provide(runPlan(p, {
    inputs: [dir],
    out,
    device: "cpu",
    signal: stop.signal,
    onProgress: (e) => e.done === 2 && stop.abort("SIGINT"),
  }));
  assert.equal(cut.interrupted, "SIGINT");
  assert.ok((cut.summary.pending ?? 0) > 0);
  assert.equal(cut.collected?.[0].error?.code, "INCOMPLETE");
  assert.ok(!existsSync(join(out, "lung_set.npy")) && !existsSync(join(out, "lung_set.index.csv")));
  assert.deepEqual(readdirSync(out).filter((f) => f.includes("lung_set")), [], "no temporary file left");
  const resumed = await provide(runPlan(p, { inputs: [dir], out, device: "cpu", resume: true }));
  assert.equal(resumed.summary.resumed, undefined, "inputs that added rows are not carried over");
  assert.deepEqual(readFileSync(join(out, "lung_set.npy")), readFileSync(join(fresh.out, "lung_set.npy")));
  assert.deepEqual(
    readFileSync(join(out, "lung_set.index.csv")),
    readFileSync(join(fresh.out, "lung_set.index.csv")),
  );
  // A shard stacks its own inputs under its own name.
  const shardOut = join(tempDir(), "out");
  const shard = await provide(runPlan(p, { inputs: [dir], out: shardOut, device: "cpu", shard: "1/2" }));
  const rows = shard.inputs.reduce((n, e) => n + (e.collected?.[0].count ?? 0), 0);
  assert.deepEqual(shard.collected?.[0].outputs, [
    join(shardOut, "lung_set.shard-1-of-2.npy"),
    join(shardOut, "lung_set.shard-1-of-2.index.csv"),
  ]);
  assert.deepEqual(readNpy(join(shardOut, "lung_set.shard-1-of-2.npy")).shape, [rows, 1, 24, 32]);
});

Deno.test("stack: plan-time checks, the plan line, the CLI summary (Deno and Bun) and `dcmflow plugins`", async () => {
  const refuse = async (write: string, extra = "") => {
    const e = await Effect.runPromise(Effect.flip(planText(pipeline(write, extra), "p.yaml")));
    assert.equal(e.code, "PLAN_MISMATCH", write);
    return e.message;
  };
  assert.match(
    await refuse("{ format: png, stack: true }"),
    /stack: true stacks tensors into one \.npy; use it with format: npy/,
  );
  assert.match(await refuse("{ format: npy, name: ds }"), /name: names the stacked file; add stack: true/);
  assert.match(await refuse("{ format: npy, stack: true, name: ../ds }"), /must be a file name/);
  assert.match(
    await refuse(
      "{ format: npy, stack: true }",
      "  - use: write\n    id: again\n    with: { format: npy, stack: true, name: lung_set }\n",
    ),
    /"again" writes the run-level output "lung_set", as "write" already does/,
  );
  const dir = join(tempDir(), "p");
  mkdirSync(dir);
  Deno.writeTextFileSync(join(dir, "set.yaml"), pipeline("{ format: npy, stack: true, name: ds }"));
  const validate = await runCli(["validate", join(dir, "set.yaml")]);
  assert.match(validate.stdout, /collects ds\.npy \+ ds\.index\.csv/);
  const out = join(dir, "out");
  const r = await runCli([
    "run",
    join(dir, "set.yaml"),
    "--input",
    "samples/ct-study",
    "--out",
    out,
    "-q",
    "--device",
    "cpu",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(
    r.stdout.includes(`stacked ${join(out, "ds.npy")} [6, 1, 24, 32] float32 + ${join(out, "ds.index.csv")}`),
    r.stdout,
  );
  // The same under Bun: the header rewritten at offset 0 (Bun's fs.write ignores positions Effect's File
  // leaves implicit), byte for byte the file Deno wrote.
  const bun = findBun();
  assert.ok(
    bun,
    "no Bun binary: run `npx --yes deno@2.9.6 install` (bun is a devDependency) or set BUN_BINARY",
  );
  const bunOut = join(dir, "bun-out");
  const b = await new Deno.Command(bun, {
    args: [
      "cli.ts",
      "run",
      join(dir, "set.yaml"),
      "--input",
      "samples/ct-study",
      "--out",
      bunOut,
      "-q",
      "--device",
      "cpu",
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(b.code, 0, new TextDecoder().decode(b.stderr));
  assert.deepEqual(readFileSync(join(bunOut, "ds.npy")), readFileSync(join(out, "ds.npy")));
  assert.deepEqual(readFileSync(join(bunOut, "ds.index.csv")), readFileSync(join(out, "ds.index.csv")));
  const plugins = await runCli(["plugins"]);
  assert.match(plugins.stdout, /stack\?: boolean/);
  assert.match(plugins.stdout, /name\?: string/);
  assert.match(plugins.stdout, /per\?: "image" \| "frame" \| "channel" \| "plane"/);
  assert.match(plugins.stdout, /clip\?: \[number, number\]/);
});

Deno.test("CSV fields with commas or quotes are quoted (RFC 4180)", () => {
  assert.equal(csvField("a,b"), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField("plain/path.dcm"), "plain/path.dcm");
  assert.equal(csvField(12), "12");
});

const row = (value: number, frames = 1): StackRow => ({
  data: new Float32Array(frames * 2 * 3).fill(value),
  shape: [frames, 1, 2, 3],
  sopInstanceUid: `sop${value}`,
  seriesInstanceUid: "series",
});

/** A task result as a worker sends it: staged rows, or an error. */
const result = (index: number, rows?: StagedRows): TaskResult => ({
  index,
  input: `in${index}.dcm`,
  ms: 0,
  ...(rows ? { staged: [], rows } : { error: { code: "NOT_DICOM", message: "no", stage: "decode" } }),
});

const openStack = (out: string, name: string) =>
  RunCollectors.open([{ stage: "write", collection: stackCollection(name) }], out, {
    tempName: (final) => `${final}.tmp-test`,
  });

Deno.test("the recorder appends rows in input order whatever order inputs finish in; unfinished files are temporary", () => {
  const out = tempDir();
  const collectors = openStack(out, "ds");
  const journal = Journal.create(join(out, "j.jsonl"), {
    journal: 1,
    planHash: "x",
    tag: "all",
    started: "",
    total: 4,
  });
  const recorder = new RunRecorder([0, 1, 2, 3], journal, () => {}, collectors);
  recorder.accept({ index: 2, result: result(2, [{ name: "ds", row: row(2, 2) }]) });
  recorder.accept({ index: 3, result: result(3, [{ name: "ds", row: row(3) }]) });
  assert.equal(recorder.entries().length, 0, "inputs 2 and 3 wait for 0 and 1");
  recorder.accept({ index: 0, result: result(0, [{ name: "ds", row: row(0) }]) });
  assert.deepEqual(recorder.entries().map((e) => e.collected), [[{ name: "ds", first: 0, count: 1 }]]);
  recorder.accept({ index: 1, result: result(1) }); // failed: no rows
  assert.deepEqual(recorder.entries().map((e) => [e.input, e.status, e.collected]), [
    ["in0.dcm", "ok", [{ name: "ds", first: 0, count: 1 }]],
    ["in1.dcm", "error", undefined],
    ["in2.dcm", "ok", [{ name: "ds", first: 1, count: 2 }]],
    ["in3.dcm", "ok", [{ name: "ds", first: 3, count: 1 }]],
  ]);
  journal.close();
  // Before finish: no ds.npy, only a temporary file whose header says 0 rows (never complete-looking).
  assert.ok(!existsSync(join(out, "ds.npy")));
  assert.deepEqual(decodeNpy(new Uint8Array(readFileSync(join(out, "ds.npy.tmp-test")))).shape, [0, 1, 2, 3]);
  const [report] = collectors.finish(true);
  assert.deepEqual(report.shape, [4, 1, 2, 3]);
  const done = readNpy(join(out, "ds.npy"));
  assert.deepEqual(done.data.filter((_, i) => i % 6 === 0), [0, 2, 2, 3]);
  assert.deepEqual(readIndex(join(out, "ds.index.csv")).map((r) => `${r.input}:${r.frame}`), [
    "in0.dcm:0",
    "in2.dcm:0",
    "in2.dcm:1",
    "in3.dcm:0",
  ]);
  collectors.abort(); // nothing once finished
  assert.deepEqual(readdirSync(out).sort(), ["ds.index.csv", "ds.npy", "j.jsonl"]);
  // A run that did not process every input (interrupted), or failed, leaves no ds2.npy at all.
  for (const end of ["interrupted", "failed"]) {
    const c2 = openStack(out, "ds2");
    c2.append(0, { input: "in0.dcm", status: "ok", outputs: [], ms: 0 }, [{ name: "ds2", row: row(0) }]);
    assert.ok(existsSync(join(out, "ds2.npy.tmp-test")));
    if (end === "interrupted") assert.equal(c2.finish(false)[0].error?.code, "INCOMPLETE");
    else c2.abort();
    assert.deepEqual(readdirSync(out).sort(), ["ds.index.csv", "ds.npy", "j.jsonl"], end);
  }
  // Rows for a collection nobody declared are an error of that input, not a crash.
  const c3 = openStack(out, "ds3");
  const bad = c3.append(0, { input: "in0.dcm", status: "ok", outputs: [], ms: 0 }, [{
    name: "other",
    row: 1,
  }]);
  assert.equal(bad.status, "error");
  c3.abort();
});

Deno.test("rows are handed over: their own arrays are transferred from workers and released once written", () => {
  const out = tempDir();
  const collectors = openStack(out, "ds");
  const a = row(1);
  const b = row(2, 2);
  const shared = new Float32Array(12);
  const pooled = tensorBuffer(6);
  const other: StagedRows = [
    { name: "x", row: { view: shared.subarray(0, 6), pooled, n: 3, data: [1, 2] } },
    { name: "x", row: 7 },
  ];
  // What a worker transfers: whole, unshared, unpooled buffers, each once; never a view into more memory.
  assert.deepEqual(rowBuffers([{ name: "ds", row: a }, { name: "ds", row: a }, ...other]), [a.data.buffer]);
  const entry = { input: "in0.dcm", status: "ok" as const, outputs: [], ms: 0 };
  const made = collectors.append(0, entry, [{ name: "ds", row: a }, { name: "ds", row: b }]);
  assert.deepEqual(made.collected, [{ name: "ds", first: 0, count: 3 }]);
  // Written, then released: the memory is freed now, not when the garbage collector gets to it.
  assert.equal(a.data.length, 0);
  assert.equal(b.data.length, 0);
  // A refused input's rows are released too (a shape that differs from the first).
  const c = { ...row(3), data: new Float32Array(4), shape: [1, 1, 2, 2] };
  assert.equal(
    collectors.append(1, { ...entry, input: "in1.dcm" }, [{ name: "ds", row: c }]).status,
    "error",
  );
  assert.equal(c.data.length, 0);
  // Views into larger memory and the tensor pool's arrays are left alone.
  releaseRows(other);
  assert.equal(shared.length, 12);
  assert.equal(pooled.length, 6);
  recycleTensors([pooled]);
  const [report] = collectors.finish(true);
  assert.deepEqual(report.shape, [3, 1, 2, 3]);
  assert.deepEqual(readNpy(join(out, "ds.npy")).data.filter((_, i) => i % 6 === 0), [1, 2, 2]);
});

gpuTest(
  "stack on the GPU path: input order kept although batches form by shape; equal to the CPU stack",
  async () => {
    const dir = tempDir();
    // Alternate shapes (200x180 e2e slices and 256x256 samples): GPU batches group by shape, out of input order.
    const samples = readdirSync("samples/ct-study").sort();
    const e2e = ["ct-signed16.dcm", "ct-unsigned12.dcm", "ct-signed16-slope.dcm"];
    for (let i = 0; i < 3; i++) {
      copyFileSync(join("samples/ct-study", samples[i]), join(dir, `${2 * i}.dcm`));
      copyFileSync(join("tests/fixtures/e2e", e2e[i]), join(dir, `${2 * i + 1}.dcm`));
    }
    const p = await plan(pipeline("{ format: npy, stack: true }"));
    const cpu = await run(p, [dir], { device: "cpu" });
    const gpu = await run(p, [dir], { device: "gpu" });
    assert.equal(gpu.ledger.device.kind, "gpu");
    assert.equal(gpu.ledger.summary.ok, 6);
    const a = readNpy(join(cpu.out, "lung_set.npy"));
    const b = readNpy(join(gpu.out, "lung_set.npy"));
    assert.deepEqual(b.shape, [6, 1, 24, 32]);
    let worst = 0;
    for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
    assert.ok(worst <= 1e-5, `GPU vs CPU stack: ${worst}`);
    assert.deepEqual(
      readIndex(join(gpu.out, "lung_set.index.csv")).map((r) => r.input),
      [0, 1, 2, 3, 4, 5].map((i) => join(dir, `${i}.dcm`)),
    );
  },
);
