/**
 * A stress campaign for the CPU path's worker pool: `deno task stress:pool [--runs N] [--inputs N]
 * [--workers 2,3] [--timeout S] [--busy K] [--entry dist/cli.js]`.
 *
 * Runs the CLI again and again on N small synthetic slices (stacked, so every input crosses the pool and the
 * recorder), with each `--workers` count in turn, while K threads of this process spin to take CPU from the
 * run (a scheduler that preempts a thread between two steps of the claims protocol is what exposes a race).
 * A run that has not ended after `--timeout` seconds is a hang: reported with how many inputs its journal had
 * recorded and whether its ledger was written, then killed. Every run's exit status and ledger are checked
 * too. Exits 1 when any run hung or failed.
 *
 * It found the hang fixed on 2026-12-03 (the pool posted a round's inputs before raising the claim limit):
 * 4 of 25 runs of 10,000 inputs with `--workers 2` on 2 cores under load.
 *
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeCtSlice } from "../../bench/synthetic.ts";
import { DENO_V8_FLAGS } from "../../cli/v8_flags.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const runs = Number(option("runs", "20"));
const inputs = Number(option("inputs", "2000"));
const workerCounts = option("workers", "2,3").split(",").map(Number);
const timeoutS = Number(option("timeout", "60"));
const busy = Number(option("busy", "1"));
const entry = option("entry", existsSync("dist/cli.js") ? "dist/cli.js" : "cli.ts");

const PIPELINE = `dcmflow: 1
name: stress
device: cpu
stages:
  - use: decode
  - use: rescale
  - use: resize
    with: { width: 32, height: 32 }
  - use: write
    with: { format: npy, stack: true }
`;

/** Threads that spin until told to stop (shared flag), taking CPU from the runs. */
const spinners = (count: number): { stop(): void } => {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const source =
    `onmessage = (e) => { const f = new Int32Array(e.data); while (Atomics.load(f, 0) === 0) {} };`;
  const url = `data:application/javascript,${encodeURIComponent(source)}`;
  const threads = Array.from({ length: count }, () => {
    const w = new Worker(url, { type: "module" });
    w.postMessage(flag.buffer);
    return w;
  });
  return {
    stop() {
      Atomics.store(flag, 0, 1);
      for (const w of threads) w.terminate();
    },
  };
};

/** Inputs the journal of a run in progress has recorded (its lines but the header). */
const journaled = (out: string): number => {
  const journal = join(out, "dcmflow-run.journal.jsonl");
  return existsSync(journal) ? readFileSync(journal, "utf8").trimEnd().split("\n").length - 1 : 0;
};

/** One run; a problem in words, or undefined when it ended as it should. */
const runOnce = async (pipeline: string, input: string, out: string, workers: number) => {
  rmSync(out, { recursive: true, force: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--node-modules-dir=manual", DENO_V8_FLAGS, entry, "run", pipeline, "--input", input]
      .concat(["--out", out, "-q", "--workers", String(workers)]),
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hung = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), timeoutS * 1000)));
  const ended = await Promise.race([child.output(), hung]);
  clearTimeout(timer);
  if (ended === "hung") {
    const ledger = existsSync(join(out, "dcmflow-run.json"));
    const recorded = journaled(out);
    child.kill("SIGKILL");
    await child.status;
    return `HUNG after ${timeoutS} s: ${recorded} of ${inputs} inputs journaled, ledger ${
      ledger ? "" : "not "
    }written`;
  }
  if (!ended.success) return `exit ${ended.code}: ${new TextDecoder().decode(ended.stderr).slice(-500)}`;
  const ledger = JSON.parse(readFileSync(join(out, "dcmflow-run.json"), "utf8"));
  const { total, ok } = ledger.summary;
  return total === inputs && ok === inputs ? undefined : `ledger ${JSON.stringify(ledger.summary)}`;
};

const root = mkdtempSync(join(tmpdir(), "dcmflow-stress-pool-"));
const spin = spinners(busy);
let problems = 0;
try {
  const pipeline = join(root, "stress.yaml");
  writeFileSync(pipeline, PIPELINE);
  const input = join(root, "in");
  mkdirSync(input);
  for (let i = 0; i < inputs; i++) {
    writeFileSync(join(input, `s${String(i).padStart(6, "0")}.dcm`), makeCtSlice(64, 64, i));
  }
  console.log(
    `stress:pool: ${runs} runs x --workers ${workerCounts.join(", ")}, ${inputs} inputs each, ${busy} busy ` +
      `thread(s), ${entry}, timeout ${timeoutS} s`,
  );
  for (const workers of workerCounts) {
    let bad = 0;
    for (let r = 0; r < runs; r++) {
      const problem = await runOnce(pipeline, input, join(root, "out"), workers);
      if (problem) {
        bad++;
        console.log(`  --workers ${workers}, run ${r + 1}: ${problem}`);
      }
    }
    console.log(`--workers ${workers}: ${runs - bad} of ${runs} runs ended as they should`);
    problems += bad;
  }
} finally {
  spin.stop();
  rmSync(root, { recursive: true, force: true });
}
if (problems > 0) process.exit(1);
