/**
 * The fuzz suite's fast campaign (issue 15): a few hundred seeded mutants of the committed DICOM fixtures
 * (tests/fuzz/mutate.ts), each decoded in a worker with a time limit, and a smaller set run through a
 * `decode` -> `write` pipeline whose ledger is checked. Rules: no crash, no hang, every error a
 * DicomDecodeError with a known code, no internal text (tests/fuzz/verdict.ts's deny-list), no output for a
 * failed input. Long campaigns: `deno task fuzz --mutants 5000` (see tests/fuzz/campaign.ts).
 */
import assert from "node:assert/strict";
import { campaign, fixtureBases, mutants, pipelineCheck } from "./fuzz/harness.ts";
import { tempDir } from "./helpers.ts";

const SEED = 20261202;
const bases = fixtureBases();

Deno.test("fuzz: 400 mutants of the fixtures decode or fail with a coded error in DICOM terms", async () => {
  const report = await campaign(mutants(bases, SEED, 400), { workers: 2, timeoutMs: 10_000 });
  console.log(
    `      ${report.total} mutants in ${
      report.seconds.toFixed(1)
    } s: ${report.ok} decoded (${report.warned} ` +
      `with warnings), ${JSON.stringify(report.codes)}, slowest ${report.slowest.ms.toFixed(0)} ms`,
  );
  assert.deepEqual(report.findings.map((f) => `${f.mutant}: ${f.problems.join("; ")}`), []);
  assert.equal(report.total, 400);
  assert.equal(report.hangs, 0);
  // the mutations reach both outcomes and several codes (a campaign that only ever fails proves little)
  assert.ok(report.ok > 40 && report.warned > 0, `${report.ok} decoded, ${report.warned} with warnings`);
  assert.ok(Object.keys(report.codes).length >= 4, JSON.stringify(report.codes));
});

Deno.test("fuzz: 80 mutants through decode -> write: one ledger entry each, no output for a failed input", async () => {
  const found = await pipelineCheck([...mutants(bases, SEED + 1, 80)], tempDir("dcmflow-fuzz-"));
  assert.deepEqual(found, []);
});

Deno.test("fuzz: the verdict catches what it must (crash, uncoded error, internal text, a bad image)", async () => {
  const { problems } = await import("./fuzz/verdict.ts");
  const coded = { ok: false, name: "DicomDecodeError", code: "INVALID_DICOM", ms: 1 };
  assert.deepEqual(
    problems({ ...coded, message: "Malformed DICOM data: (0028,0010) Rows at byte 300 ..." }),
    [],
  );
  assert.equal(problems({ ...coded, message: "Offset is outside the bounds of the DataView" }).length, 1);
  assert.equal(
    problems({ ...coded, message: "Cannot read properties of undefined (reading 'Value')" }).length,
    2,
  );
  assert.equal(
    problems({ ...coded, code: "OOPS", message: "a long enough message in DICOM terms" }).length,
    1,
  );
  assert.equal(
    problems({ ok: false, name: "TypeError", message: "x is not a function at all", ms: 1 }).length,
    3,
  );
  assert.equal(problems({ ok: true, shape: [1, 1, 2, 2], length: 3, ms: 1 }).length, 1);
});
