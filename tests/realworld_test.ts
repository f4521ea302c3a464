/**
 * `realworld`: stored values to physical quantities through the Real World Value Mapping, against numpy
 * (tests/fixtures/dicom/make_enhanced_fixtures.py): linear items chosen by position or units, a table with
 * signed first values, an enhanced object with a mapping per frame; fused, stage by stage and on the GPU.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { decodeDicomAsync } from "../dicom/mod.ts";
import { planText, processBytes, runPipelinePromise } from "../mod.ts";
import { decodeNpy } from "../core/npy.ts";
import { gpuTest, maxAbsDiff, readNpy, relativeDiff, runCli, tempDir } from "./helpers.ts";

const DIR = "tests/fixtures/dicom";
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, name)));
const REAL = (withParams = "") =>
  `dcmflow: 1\nstages:\n  - use: decode\n  - use: realworld\n${
    withParams ? `    with: ${withParams}\n` : ""
  }`;

const processed = async (text: string, name: string) => {
  const plan = await Effect.runPromise(planText(text, "p.yaml"));
  const exit = await Effect.runPromiseExit(processBytes(plan, read(name)));
  if (exit._tag === "Failure") throw new Error(String(exit.cause));
  return exit.value.image;
};

const failure = async (text: string, name: string) => {
  const plan = await Effect.runPromise(planText(text, "p.yaml"));
  const exit = await Effect.runPromiseExit(processBytes(plan, read(name)));
  assert.equal(exit._tag, "Failure");
  return String((exit as { cause: unknown }).cause);
};

Deno.test("the header reads Real World Value Mapping items: ranges (signed too), line or table, units", async () => {
  const adc = (await decodeDicomAsync(read("realworld_adc.dcm"))).meta;
  assert.deepEqual(
    adc.realWorld?.map((m) => [m.firstMapped, m.lastMapped, m.slope, m.intercept, m.units, m.label]),
    [
      [0, 4095, 1e-6, 0, "mm2/s", "ADC"],
      [0, 4095, 1, -0.5, "um2/s", "ADC"],
    ],
  );
  const lut = (await decodeDicomAsync(read("realworld_lut.dcm"))).meta;
  assert.deepEqual([lut.realWorld?.[0].firstMapped, lut.realWorld?.[0].lastMapped], [-8, 23]);
  assert.equal(lut.realWorld?.[0].lut?.length, 32);
  const perFrame = (await decodeDicomAsync(read("enhanced_realworld_per_frame.dcm"))).meta;
  assert.deepEqual(perFrame.frameRealWorld?.map((l) => l[0].slope), [0.5, 0.25, 2, 1e-3]);
  const ct = (await decodeDicomAsync(read("implicit_le.dcm"))).meta;
  assert.equal(ct.realWorld, undefined);
});

const CASES = [
  ["realworld_adc.dcm", "", "realworld_adc.realworld.npy"],
  ["realworld_adc.dcm", "{ units: um2/s }", "realworld_adc.realworld_um2.npy"],
  ["realworld_adc.dcm", "{ which: 1 }", "realworld_adc.realworld_um2.npy"],
  ["realworld_lut.dcm", "", "realworld_lut.realworld.npy"],
  ["enhanced_realworld_per_frame.dcm", "", "enhanced_realworld_per_frame.realworld.npy"],
] as const;

for (const [name, params, ref] of CASES) {
  Deno.test(`decode -> realworld ${params || "(item 0)"} of ${name} equals numpy`, async () => {
    const image = await processed(REAL(params), name);
    const want = decodeNpy(read(ref));
    assert.deepEqual([...image.shape], want.shape);
    assert.ok(
      relativeDiff(image.data, want.data as Float32Array) <= 1e-7,
      `${relativeDiff(image.data, want.data as Float32Array)}`,
    );
  });
}

Deno.test("realworld records its choice; errors say what the file has", async () => {
  const adc = await processed(REAL("{ units: um2/s }"), "realworld_adc.dcm");
  assert.deepEqual(adc.notes.realWorld, {
    index: 1,
    units: "um2/s",
    label: "ADC",
    slope: 1,
    intercept: -0.5,
    range: [0, 4095],
  });
  const frames = await processed(REAL(), "enhanced_realworld_per_frame.dcm");
  assert.deepEqual(frames.notes.realWorld, {
    perFrame: true,
    units: "ms",
    slope: [0.5, 0.25, 2, 1e-3],
    intercept: [0, 1, 2, 3],
  });
  assert.match(
    await failure(REAL("{ units: s }"), "realworld_adc.dcm"),
    /units: s asks for a Real World Value Mapping in s, but the file has none in it; its mappings: \[0\] mm2\/s \(ADC\), \[1\] um2\/s \(ADC\)/,
  );
  assert.match(
    await failure(REAL(), "implicit_le.dcm"),
    /the file has no Real World Value Mapping Sequence \(0040,9096\)/,
  );
});

/** The fixtures through a run: fused (default), stage by stage, or on the GPU. */
const runAll = async (options: { device: "cpu" | "gpu"; fuse?: boolean }) => {
  const input = tempDir();
  const names = ["realworld_adc.dcm", "realworld_lut.dcm", "enhanced_realworld_per_frame.dcm"];
  for (const n of names) copyFileSync(join(DIR, n), join(input, n));
  const file = join(tempDir(), "p.yaml");
  writeFileSync(file, `${REAL()}  - use: write\n    with: { format: npy }\n`);
  const out = join(tempDir(), "out");
  const ledger = await runPipelinePromise(file, { inputs: [input], out, workers: 0, ...options });
  assert.equal(ledger.summary.ok, 3, JSON.stringify(ledger.inputs.map((e) => e.error)));
  return { ledger, npy: (n: string) => readNpy(join(out, n.replace(".dcm", ".npy"))), names };
};

Deno.test("a run, fused and stage by stage: the numpy values", async () => {
  for (const fuse of [true, false]) {
    const run = await runAll({ device: "cpu", fuse });
    for (const n of run.names) {
      const want = decodeNpy(read(n.replace(".dcm", ".realworld.npy")));
      assert.ok(relativeDiff(run.npy(n).data, want.data as Float32Array) <= 1e-7, `${n} fuse ${fuse}`);
    }
  }
});

gpuTest(
  "on the GPU: linear mappings (one per image or per frame) in the fused kernel, the table on the CPU",
  async () => {
    const run = await runAll({ device: "gpu" });
    const fallback = Object.fromEntries(
      run.ledger.inputs.map((e) => [e.input.split(/[\\/]/).pop(), e.fallback]),
    );
    assert.equal(fallback["realworld_adc.dcm"], undefined);
    assert.match(String(fallback["realworld_lut.dcm"]), /Real World Value LUT Data/);
    assert.equal(
      fallback["enhanced_realworld_per_frame.dcm"],
      undefined,
      "a mapping per frame: in the kernel",
    );
    for (const n of run.names) {
      const want = decodeNpy(read(n.replace(".dcm", ".realworld.npy")));
      assert.ok(maxAbsDiff(run.npy(n).data, want.data as Float32Array) <= 1e-6 * 4096, n);
      assert.ok(relativeDiff(run.npy(n).data, want.data as Float32Array) <= 1e-6, n);
    }
  },
);

Deno.test("inspect lists the Real World Value Mappings", async () => {
  const r = await runCli(["inspect", join(DIR, "realworld_adc.dcm")]);
  assert.match(
    r.stdout,
    /real world values\s+\[0\] mm2\/s ADC: x 0\.000001 \+ 0 on 0\.\.4095; \[1\] um2\/s ADC/,
  );
});
