/**
 * The per-file cost of the header: `deno run -A bench/header_bench.ts [--iterations N] [--rounds R]`.
 *
 * Times `readHeader` and `readRawPixels` on a synthetic 512 x 512 CT slice (bench/synthetic.ts), the same
 * slice with a scanner-like header (109 elements), on
 * samples/ct-study/slice-001.dcm (54 header elements) and on a realistic CT header of about 110 elements
 * (tests/support/realistic_ct.ts, explicit VR, ISO_IR 100) in a warm loop: R rounds of N calls each, after a
 * warm-up round; prints µs per call for every round and the best. With `--dcmjs-naturalize`, dcmjs's
 * `naturalizeDataset` naturalizes the native reader's dicts (as before dicom/naturalize.ts). With `--dir DIR`,
 * instead: `readRawPixels` over every `.dcm` file in DIR (read into memory first), R passes, µs per file for
 * each - the first pass meets the files as a run does (each file once, the code still warming up).
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { useNativeNaturalizer } from "../dicom/dcmjs.ts";
import { readHeader, readRawPixels } from "../dicom/mod.ts";
import { realisticCt } from "../tests/support/realistic_ct.ts";
import { makeCtSlice } from "./synthetic.ts";
import { flagOption, numberOption, textOption } from "./options.ts";

const ITERATIONS = numberOption("iterations", 500);
const ROUNDS = numberOption("rounds", 3);
useNativeNaturalizer(!flagOption("dcmjs-naturalize"));

const dir = textOption("dir", "");
if (dir !== "") {
  const inputs = readdirSync(dir).filter((n) => n.endsWith(".dcm")).sort().map((n) =>
    new Uint8Array(readFileSync(join(dir, n)))
  );
  const passes = Array.from({ length: ROUNDS }, () => {
    const start = performance.now();
    for (const bytes of inputs) readRawPixels(bytes);
    return ((performance.now() - start) * 1000) / inputs.length;
  });
  console.log(
    `readRawPixels  ${inputs.length} files of ${dir}: ${passes.map((t) => t.toFixed(1)).join(" / ")} µs`,
  );
  Deno.exit(0);
}

const files: ReadonlyArray<[string, Uint8Array]> = [
  ["synthetic CT 512²", makeCtSlice(512, 512, 0)],
  ["synthetic CT 512², scanner header", makeCtSlice(512, 512, 0, "scanner")],
  ["samples/ct-study/slice-001.dcm", new Uint8Array(readFileSync("samples/ct-study/slice-001.dcm"))],
  ["realistic CT header", realisticCt(true, "ISO_IR 100")],
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
      `${name.padEnd(14)} ${file.padEnd(36)} ${times.map((t) => t.toFixed(1)).join(" / ")} µs ` +
        `(best ${Math.min(...times).toFixed(1)})`,
    );
  }
}
