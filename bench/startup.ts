/**
 * `deno task bench:startup`: start-up time of the CLI from source (`cli.ts`) and from the bundle
 * (`dist/cli.js`, made by `deno task build`), under Deno and Bun.
 *
 * - "first input": from spawning `dcmflow run PIPELINE --input ONE_FILE --device cpu` to its first progress
 *   line on stderr (`dcmflow: 1 input(s) -> ...`, printed when the plan is made, the inputs are listed and
 *   the device is chosen, just before the first file is read);
 * - "run": the whole one-file run, process exit included;
 * - "validate": the whole `dcmflow validate PIPELINE`.
 *
 * Medians of {@link REPEATS} runs after one warm-up. Run it alone on the machine (here:
 * `flock -x /tmp/cpu.lock deno task bench:startup`); prints a Markdown table.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { findBun } from "../tests/helpers.ts";
import { DENO_V8_FLAGS } from "../cli/v8_flags.ts";

const REPEATS = Number(process.env.STARTUP_REPEATS ?? 7);
const PIPELINE = "pipelines/seed-recipe.yaml";
const INPUT = "tests/fixtures/e2e/ct-signed16.dcm";
const FIRST_INPUT = /^dcmflow: \d+ input/m;

interface Timing {
  readonly firstInput: number | undefined;
  readonly total: number;
}

/** Spawns one command; times its first-input line on stderr and its exit (seconds). */
const timeOnce = (cmd: string, args: ReadonlyArray<string>): Promise<Timing> =>
  new Promise((done, fail) => {
    const started = performance.now();
    let firstInput: number | undefined;
    let stderr = "";
    const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
    child.stderr.on("data", (chunk: Uint8Array) => {
      stderr += new TextDecoder().decode(chunk);
      if (firstInput === undefined && FIRST_INPUT.test(stderr)) {
        firstInput = (performance.now() - started) / 1000;
      }
    });
    child.on("error", fail);
    child.on("close", (code) => {
      const total = (performance.now() - started) / 1000;
      code === 0
        ? done({ firstInput, total })
        : fail(new Error(`${cmd} ${args.join(" ")}: exit ${code}\n${stderr}`));
    });
  });

const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** Medians over {@link REPEATS} runs, after one warm-up run. */
const measure = async (cmd: string, args: ReadonlyArray<string>) => {
  await timeOnce(cmd, args);
  const runs: Timing[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await timeOnce(cmd, args));
  return {
    firstInput: median(runs.map((r) => r.firstInput ?? NaN)),
    total: median(runs.map((r) => r.total)),
  };
};

const fmt = (s: number) => (Number.isNaN(s) ? "-" : `${s.toFixed(3)} s`);

const main = async () => {
  if (!existsSync("dist/cli.js")) throw new Error("no dist/cli.js: run `deno task build` first");
  const bun = findBun();
  const runtimes: Array<[string, string, string[]]> = [
    ["deno", process.execPath, ["run", "-A"]],
    // as `deno task dcmflow:fast` runs: node_modules used as installed (not checked against the lockfile
    // and package.json on every start, which `nodeModulesDir: "auto"` does), the shipped V8 flags
    [
      "deno, manual node_modules",
      process.execPath,
      [
        "run",
        "-A",
        "--node-modules-dir=manual",
        DENO_V8_FLAGS,
      ],
    ],
  ];
  if (bun) runtimes.push(["bun", bun, []]);
  const out = mkdtempSync(join(tmpdir(), "dcmflow-startup-"));
  const rows: string[] = [];
  const baseline = await measure(process.execPath, ["eval", "0"]);
  for (const [name, cmd, pre] of runtimes) {
    for (const entry of ["cli.ts", "dist/cli.js"]) {
      const run = await measure(cmd, [
        ...pre,
        entry,
        "run",
        PIPELINE,
        "--input",
        INPUT,
        "--out",
        out,
        "--device",
        "cpu",
      ]);
      const validate = await measure(cmd, [...pre, entry, "validate", PIPELINE]);
      rows.push(
        `| ${name} | ${entry} | ${fmt(run.firstInput)} | ${fmt(run.total)} | ${fmt(validate.total)} |`,
      );
    }
  }
  rmSync(out, { recursive: true, force: true });
  console.log(`Start-up, medians of ${REPEATS} (\`deno eval 0\`: ${fmt(baseline.total)}):\n`);
  console.log("| runtime | entry | first input | one-file run | validate |");
  console.log("| --- | --- | ---: | ---: | ---: |");
  for (const row of rows) console.log(row);
};

await main();
