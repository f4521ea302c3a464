/**
 * The per-file cost of the header: `deno run -A bench/header_bench.ts [--iterations N] [--rounds R]`.
 *
 * Times `readHeader` and `readRawPixels` on a synthetic 512 x 512 CT slice (bench/synthetic.ts) and on
 * samples/ct-study/slice-001.dcm (54 header elements) in a warm loop: R rounds of N calls each, after a
 * warm-up round; prints µs per call for every round and the best.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { readHeader, readRawPixels } from "../dicom/mod.ts";
import { makeCtSlice } from "./synthetic.ts";

const args = Deno.args;
const option = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const ITERATIONS = option("iterations", 500);
const ROUNDS = option("rounds", 3);

const files: ReadonlyArray<[string, Uint8Array]> = [
  ["synthetic CT 512²", makeCtSlice(512, 512, 0)],
  ["samples/ct-study/slice-001.dcm", new Uint8Array(readFileSync("samples/ct-study/slice-001.dcm"))],
];
const calls: ReadonlyArray<[string, (b: Uint8Array) => unknown]> = [
  ["readHeader", (b) => readHeader(b)],
  ["readRawPixels", (b) => readRawPixels(b)],
];

/** µs per call of `fn` over `ITERATIONS` calls. */
function round(fn: () => unknown): number {
  const start = performance.now();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return ((performance.now() - start) * 1000) / ITERATIONS;
}

for (const [file, bytes] of files) {
  for (const [name, call] of calls) {
    round(() => call(bytes));
    const times = Array.from({ length: ROUNDS }, () => round(() => call(bytes)));
    console.log(
      `${name.padEnd(14)} ${file.padEnd(32)} ${times.map((t) => t.toFixed(1)).join(" / ")} µs ` +
        `(best ${Math.min(...times).toFixed(1)})`,
    );
  }
}
