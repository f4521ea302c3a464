/**
 * Peak memory of `write` with `stack: true` (one `[N, 1, 64, 64]` .npy for the run): N synthetic CT slices
 * (128x128) -> rescale -> window -> resize 64x64 -> min-max -> stacked, run as a whole CLI process for
 * N = 100 and 2,000 (and 10,000 with `--full`). Flat memory means the stack adds nothing that grows with N
 * although the stacked file does (N * 16 KiB): the same pipeline writing one .npy per input is measured
 * beside it as the baseline (whatever the runtime itself keeps per input, e.g. ledger entries, shows in both).
 * Prints a Markdown table.
 *
 *   deno run -A bench/stack_bench.ts [--full]
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`); without it, from polling `/proc/PID/status` (VmHWM).
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeCtSlice } from "./synthetic.ts";

const SIZES = process.argv.includes("--full") ? [100, 2000, 10000] : [100, 2000];
const SLICE = 128;

const PIPELINE = `dcmflow: 1
name: stack-bench
device: cpu
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 40, width: 400 }
  - use: resize
    with: { width: 64, height: 64 }
  - use: normalize
    with: { mode: minmax }
  - use: write
    with: { format: npy, stack: true }
`;

/** Peak RSS (KiB) and wall time (s) of a command. */
const measure = async (
  cmd: string,
  args: ReadonlyArray<string>,
): Promise<{ kib: number; seconds: number }> => {
  if (existsSync("/usr/bin/time")) {
    const r = spawnSync("/usr/bin/time", ["-f", "%M %e", cmd, ...args], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
    const [kib, seconds] = r.stderr.toString().trim().split("\n").pop()!.split(" ").map(Number);
    return { kib, seconds };
  }
  const t0 = performance.now();
  const child = spawn(cmd, args, { stdio: "ignore" });
  let kib = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
      if (m) kib = Math.max(kib, Number(m[1]));
    } catch { /* exited */ }
  }, 10);
  await new Promise((resolve) => child.on("exit", resolve));
  clearInterval(poll);
  return { kib, seconds: (performance.now() - t0) / 1000 };
};

const root = mkdtempSync(join(tmpdir(), "dcmflow-stack-bench-"));
try {
  const pipeline = join(root, "stack.yaml");
  writeFileSync(pipeline, PIPELINE);
  const perInput = join(root, "per-input.yaml");
  writeFileSync(perInput, PIPELINE.replace("stack: true", "stack: false"));
  console.log(
    `\n## write stack: peak memory (${SLICE}x${SLICE} slices -> [N, 1, 64, 64], CLI process, CPU)\n`,
  );
  console.log(
    "| inputs | stacked file | peak RSS, stack | wall s | inputs / s | peak RSS, one .npy per input |",
  );
  console.log("|---:|---:|---:|---:|---:|---:|");
  for (const n of SIZES) {
    const input = join(root, `in-${n}`);
    mkdirSync(input);
    for (let i = 0; i < n; i++) {
      writeFileSync(join(input, `s${String(i).padStart(5, "0")}.dcm`), makeCtSlice(SLICE, SLICE, i));
    }
    const out = join(root, `out-${n}`);
    const cli = (
      file: string,
      dir: string,
    ) => ["run", "-A", "cli.ts", "run", file, "--input", input, "--out", dir, "-q"];
    const { kib, seconds } = await measure(process.execPath, cli(pipeline, out));
    const base = await measure(process.execPath, cli(perInput, join(root, `base-${n}`)));
    rmSync(join(root, `base-${n}`), { recursive: true });
    const npy = join(out, "stack-bench.npy");
    const lines = readFileSync(join(out, "stack-bench.index.csv"), "utf8").trimEnd().split("\n").length;
    if (lines !== n + 1) throw new Error(`expected ${n} index rows, got ${lines - 1}`);
    const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
    console.log(
      `| ${n} | ${mib(statSync(npy).size)} | ${mib(kib * 1024)} | ${seconds.toFixed(1)} | ${
        (n / seconds).toFixed(0)
      } | ${mib(base.kib * 1024)} |`,
    );
    rmSync(input, { recursive: true });
    rmSync(out, { recursive: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
