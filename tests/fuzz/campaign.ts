/**
 * A long fuzz campaign: `deno task fuzz [--mutants N] [--seed S] [--workers W] [--timeout MS]
 * [--pipeline N] [--report FILE]`.
 *
 * Mutates the committed fixtures (tests/fuzz/mutate.ts), decodes each mutant in a worker with a time limit,
 * and prints what it found: outcomes by code, inputs that broke a rule (crash, hang, uncoded error,
 * internal text), the slowest input and the peak memory of a worker. With `--pipeline N`, the first N
 * mutants also go through a `decode` -> `write` run whose ledger is checked (no output for a failed input).
 * Exits 1 when anything broke a rule; every finding names its base file, mutant id and mutation, and the
 * same seed reproduces it. The first 50 findings are printed; `--report FILE` writes them all as JSON.
 *
 * @module
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { campaign, fixtureBases, mutants, pipelineCheck } from "./harness.ts";

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const count = option("mutants", 3000);
const seed = option("seed", Date.now() % 100_000);
const workers = option("workers", 2);
const timeoutMs = option("timeout", 5_000);
const pipeline = option("pipeline", 0);

const bases = fixtureBases();
console.log(`fuzz: ${count} mutants of ${bases.length} fixtures, seed ${seed}, ${workers} worker(s)`);
const report = await campaign(mutants(bases, seed, count), {
  workers,
  timeoutMs,
  onProgress: (n) => {
    if (n % 500 === 0) console.log(`  ${n} / ${count}`);
  },
});
const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
console.log(`\n${report.total} mutants in ${report.seconds.toFixed(1)} s`);
console.log(`  decoded: ${report.ok} (${report.warned} with warnings)`);
for (const [code, n] of Object.entries(report.codes).sort((a, b) => b[1] - a[1])) {
  console.log(`  ${code}: ${n}`);
}
console.log(`  hangs (> ${timeoutMs} ms): ${report.hangs}`);
console.log(
  `  over 1 s: ${report.slow}; slowest: ${report.slowest.ms.toFixed(0)} ms (${report.slowest.mutant})`,
);
console.log(`  peak worker RSS: ${mb(report.peakRss)}`);
let broken = report.findings.length;
console.log(`  rule breaks: ${broken}`);
for (const f of report.findings.slice(0, 50)) {
  console.log(`    ${f.mutant}\n      ${f.problems.join("\n      ")}`);
}
const reportAt = args.indexOf("--report");
if (reportAt >= 0) {
  writeFileSync(args[reportAt + 1], JSON.stringify({ seed, count, findings: report.findings }, null, 1));
  console.log(`  every finding: ${args[reportAt + 1]}`);
}

if (pipeline > 0) {
  const dir = mkdtempSync(join(tmpdir(), "dcmflow-fuzz-"));
  try {
    const found = await pipelineCheck([...mutants(bases, seed, Math.min(pipeline, count))], dir);
    console.log(`\npipeline run of ${Math.min(pipeline, count)} mutants: ${found.length} problem(s)`);
    for (const p of found.slice(0, 50)) console.log(`  ${p}`);
    broken += found.length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
process.exit(broken > 0 ? 1 : 0);
