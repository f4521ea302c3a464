/**
 * Peak memory of `write` with `stack: true` (one `[N, 1, 64, 64]` .npy for the run): N synthetic CT slices
 * (128x128) -> rescale -> window -> resize 64x64 -> min-max -> stacked, run as a whole CLI process (as the
 * shipped launch points run it: the bundle `dist/cli.js` when built) for N = 100, 1,000, 2,000 (the issue's
 * "2,000 small inputs") and 10,000 (`--sizes` for others). Flat memory means the stack adds nothing that grows
 * with N although the stacked file does (N * 16 KiB): the same pipeline writing
 * one .npy per input is measured beside it as the baseline (whatever the runtime itself keeps per input, e.g.
 * ledger entries, shows in both). Prints a Markdown table with each peak as a ratio to the first size's.
 *
 *   deno run -A bench/stack_bench.ts [--sizes 100,1000,2000,10000]
 *
 * Peak RSS comes from GNU time (`/usr/bin/time -f %M`, as in whole_process.ts).
 *
 * @module
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { makeCtSlice } from "./synthetic.ts";
import { timed } from "./whole_process.ts";
import { DENO_V8_FLAGS } from "../cli/v8_flags.ts";

const sizesAt = process.argv.indexOf("--sizes");
const SIZES = sizesAt >= 0 ? process.argv[sizesAt + 1].split(",").map(Number) : [100, 1000, 2000, 10000];
const SLICE = 128;
/** As the shipped launch points run it: the bundle (`deno task build`), else the source. */
const ENTRY = existsSync("dist/cli.js") ? "dist/cli.js" : "cli.ts";

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
    `| inputs | stacked file | peak RSS, stack (× ${SIZES[0]}) | wall s | inputs / s | ` +
      `peak RSS, one .npy per input (× ${SIZES[0]}) |`,
  );
  console.log("|---:|---:|---:|---:|---:|---:|");
  let first: { stack: number; base: number } | undefined;
  for (const n of SIZES) {
    const input = join(root, `in-${n}`);
    mkdirSync(input);
    for (let i = 0; i < n; i++) {
      writeFileSync(join(input, `s${String(i).padStart(5, "0")}.dcm`), makeCtSlice(SLICE, SLICE, i));
    }
    const out = join(root, `out-${n}`);
    const cli = (file: string, dir: string) => [
      process.execPath,
      ...[
        "run",
        "-A",
        "--node-modules-dir=manual",
        DENO_V8_FLAGS,
        ENTRY,
        "run",
        file,
        "--input",
        input,
        "--out",
        dir,
        "-q",
      ],
    ];
    const { rssMiB, seconds } = timed(cli(pipeline, out));
    const base = timed(cli(perInput, join(root, `base-${n}`)));
    rmSync(join(root, `base-${n}`), { recursive: true });
    const npy = join(out, "stack-bench.npy");
    const lines = readFileSync(join(out, "stack-bench.index.csv"), "utf8").trimEnd().split("\n").length;
    if (lines !== n + 1) throw new Error(`expected ${n} index rows, got ${lines - 1}`);
    const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`;
    first ??= { stack: rssMiB, base: base.rssMiB };
    const ratio = (x: number, y: number) => `${x.toFixed(1)} MiB (${(x / y).toFixed(2)}×)`;
    console.log(
      `| ${n.toLocaleString("en")} | ${mib(statSync(npy).size)} | ${ratio(rssMiB, first.stack)} | ${
        seconds.toFixed(1)
      } | ${(n / seconds).toFixed(0)} | ${ratio(base.rssMiB, first.base)} |`,
    );
    rmSync(input, { recursive: true });
    rmSync(out, { recursive: true });
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
