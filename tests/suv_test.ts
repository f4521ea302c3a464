/**
 * PET SUV (body weight): the factor from the header against the QIBA pseudo-code run in Python
 * (tests/fixtures/pet/make_pet_fixtures.py), the `suv` stage on every path (stage by stage, fused into the
 * CPU path's table, the GPU), and refusals that name the attribute; DICOM dates and times.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  dateSeconds,
  decodeDicomAsync,
  dtSeconds,
  suvBodyWeight,
  suvFactor,
  timeSeconds,
} from "../dicom/mod.ts";
import { type Ledger, planText, processBytes, runPipelinePromise } from "../mod.ts";
import { decodeNpy } from "../core/npy.ts";
import { gunzip, readNifti } from "../docs/volume-views.ts";
import { gpuTest, readJson, readNpy, relativeDiff, runCli, tempDir } from "./helpers.ts";

const DIR = "tests/fixtures/pet";
type Body = { scale?: number; code?: string };
const EXPECTED: Record<
  string,
  { scale?: number; decaySeconds?: number | null; code?: string; lean?: Body; bsa?: Body }
> = readJson(
  join(DIR, "expected.json"),
);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, name)));
const SUV = "dcmflow: 1\nstages:\n  - use: decode\n  - use: rescale\n  - use: suv\n";

Deno.test("DICOM DA, TM and DT values as seconds, invalid ones undefined", () => {
  assert.equal(dateSeconds("20260115"), Date.UTC(2026, 0, 15) / 1000);
  assert.equal(dateSeconds("2026.01.15"), Date.UTC(2026, 0, 15) / 1000, "the old form");
  for (const bad of ["20260230", "2026011", "", "20261301", undefined]) {
    assert.equal(dateSeconds(bad), undefined, bad);
  }
  assert.equal(dateSeconds("20240229"), Date.UTC(2024, 1, 29) / 1000, "a leap day");
  assert.equal(timeSeconds("101512.25"), 10 * 3600 + 15 * 60 + 12.25);
  assert.equal(timeSeconds("10:15:12"), 10 * 3600 + 15 * 60 + 12, "the old form");
  assert.equal(timeSeconds("1015"), 10 * 3600 + 15 * 60, "truncated");
  assert.equal(timeSeconds("10"), 36000);
  assert.equal(timeSeconds(" 101512.123456 "), 36912.123456);
  for (const bad of ["246000", "106100", "1015121", "10.5", "", "101512.1234567"]) {
    assert.equal(timeSeconds(bad), undefined, bad);
  }
  assert.equal(dtSeconds("20260115231500.25"), Date.UTC(2026, 0, 15, 23, 15) / 1000 + 0.25);
  assert.equal(
    dtSeconds("20260115231500+0100"),
    Date.UTC(2026, 0, 15, 23, 15) / 1000,
    "wall clock: no offset",
  );
  assert.equal(dtSeconds("2026011523"), Date.UTC(2026, 0, 15, 23) / 1000);
  assert.equal(dtSeconds("20260115"), undefined, "a DT without a time is no instant for a decay");
});

const FILES = Object.keys(EXPECTED).filter((n) => n.endsWith(".dcm"));

for (const [name, want] of Object.entries(EXPECTED).filter(([n]) => n.endsWith(".dcm"))) {
  Deno.test(`the SUVbw factor of ${name} is QIBA's (${want.code ?? "computed"})`, async () => {
    const { meta } = await decodeDicomAsync(read(name));
    const r = suvBodyWeight(meta.dataset);
    if (want.code) {
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.code, want.code, r.message);
      return;
    }
    assert.ok(r.ok, r.ok ? "" : r.message);
    assert.ok(
      Math.abs(r.factor.scale - want.scale!) <= 1e-12 * want.scale!,
      `${r.factor.scale} vs ${want.scale}`,
    );
    if (want.decaySeconds !== null) assert.ok(Math.abs(r.factor.decaySeconds! - want.decaySeconds!) < 1e-6);
  });
}

Deno.test("refusals say what is wrong with which attribute", async () => {
  const message = async (name: string) => {
    const r = suvBodyWeight((await decodeDicomAsync(read(name))).meta.dataset);
    assert.equal(r.ok, false);
    return r.ok ? "" : r.message;
  };
  assert.match(await message("pet_counts.dcm"), /Units \(0054,1001\) is CNTS/);
  assert.match(
    await message("pet_no_decay_correction.dcm"),
    /CorrectedImage \(0028,0051\) is \[ATTN, SCAT\], without DECY/,
  );
  assert.match(await message("pet_decay_none.dcm"), /DecayCorrection \(0054,1102\) is NONE/);
  assert.match(await message("pet_no_weight.dcm"), /PatientWeight \(0010,1030\) is missing/);
  assert.match(await message("pet_no_dose.dcm"), /RadionuclideTotalDose \(0018,1074\) is missing/);
  assert.match(
    await message("pet_series_after_acquisition.dcm"),
    /SeriesTime \(0008,0031\) is 1 h 44 min 48 s after/,
  );
  assert.match(
    await message("pet_injection_after_scan.dcm"),
    /injection \(RadiopharmaceuticalStartTime \(0018,1072\) on the series date\) is 23 h 05 min 00 s after the scan/,
  );
  const ct = suvBodyWeight(
    (await decodeDicomAsync(new Uint8Array(readFileSync("tests/fixtures/dicom/implicit_le.dcm")))).meta
      .dataset,
  );
  assert.deepEqual(ct.ok ? "" : ct.code, "NOT_PET");
  const enhanced = suvBodyWeight({ Modality: "PT", SOPClassUID: "1.2.840.10008.5.1.4.1.1.130" });
  assert.match(enhanced.ok ? "" : enhanced.message, /Enhanced PET image .* not read for SUV yet/);
});

const OK = FILES.filter((n) => !EXPECTED[n].code);

for (const name of OK) {
  Deno.test(`decode -> rescale -> suv of ${name} equals the reference; notes record the factor`, async () => {
    const plan = await Effect.runPromise(planText(SUV, "p.yaml"));
    const { image } = await Effect.runPromise(processBytes(plan, read(name)));
    const ref = decodeNpy(read(name.replace(".dcm", ".suv.npy")));
    assert.deepEqual([...image.shape], ref.shape);
    assert.ok(
      relativeDiff(image.data, ref.data as Float32Array) <= 1e-7,
      `${relativeDiff(image.data, ref.data as Float32Array)}`,
    );
    const notes = image.notes.suv as { scale: number; units: string };
    assert.ok(Math.abs(notes.scale - EXPECTED[name].scale!) <= 1e-12 * notes.scale);
  });
}

/** Every fixture through a run on `device`: the ledger, and the npy of each input that succeeded. */
const runAll = async (options: { device: "cpu" | "gpu"; fuse?: boolean }) => {
  const input = tempDir();
  for (const f of readdirSync(DIR).filter((f) => f.endsWith(".dcm"))) {
    copyFileSync(join(DIR, f), join(input, f));
  }
  const file = join(tempDir(), "p.yaml");
  writeFileSync(file, `${SUV}  - use: write\n    with: { format: npy }\n`);
  const out = join(tempDir(), "out");
  const ledger: Ledger = await runPipelinePromise(file, { inputs: [input], out, workers: 0, ...options });
  return { ledger, npy: (name: string) => readNpy(join(out, name.replace(".dcm", ".npy"))) };
};

const checkRun = (run: Awaited<ReturnType<typeof runAll>>, tolerance: number) => {
  for (const entry of run.ledger.inputs) {
    const name = entry.input.split(/[\\/]/).pop()!;
    const want = EXPECTED[name];
    if (want.code) {
      assert.equal(entry.status, "error", name);
      assert.equal(entry.error?.code, want.code, `${name}: ${entry.error?.message}`);
      assert.equal(entry.error?.stage, "suv");
      continue;
    }
    assert.equal(entry.status, "ok", `${name}: ${entry.error?.message}`);
    const ref = decodeNpy(read(name.replace(".dcm", ".suv.npy")));
    const got = run.npy(name);
    assert.ok(
      relativeDiff(got.data, ref.data as Float32Array) <= tolerance,
      `${name}: ${relativeDiff(got.data, ref.data as Float32Array)}`,
    );
  }
  assert.equal(run.ledger.inputs.length, FILES.length);
};

Deno.test("a run: fused into the CPU path's table and stage by stage, the same values; refusals are coded ledger errors", async () => {
  checkRun(await runAll({ device: "cpu" }), 1e-7);
  checkRun(await runAll({ device: "cpu", fuse: false }), 1e-7);
});

gpuTest("the GPU path applies the factor in the fused kernel (float32 factor: within 1e-6)", async () => {
  const run = await runAll({ device: "gpu" });
  checkRun(run, 1e-6);
  assert.ok(run.ledger.inputs.every((e) => e.fallback === undefined), "no input fell back to the CPU");
});

Deno.test("the example pipeline: a PET series -> one SUV volume (each slice's slope, the series' factor) -> NIfTI", async () => {
  const out = join(tempDir(), "out");
  const run = (overrides: string[]) =>
    runPipelinePromise("pipelines/pet-suv-volume.yaml", {
      inputs: [join(DIR, "series")],
      out,
      device: "cpu",
      workers: 0,
      overrides,
    });
  const nifti = await run([]);
  assert.equal(nifti.summary.ok, 1, JSON.stringify(nifti.inputs));
  const file = nifti.inputs[0].outputs[0];
  assert.match(file, /\.nii\.gz$/);
  const ref = decodeNpy(read("series.suv.npy"));
  const vol = readNifti(await gunzip(new Uint8Array(readFileSync(file))));
  assert.deepEqual(vol.dims, [20, 16, 5]);
  // NIfTI stores x fastest with rows flipped to RAS; compare the values as a set per slice instead.
  const perSlice = (data: ArrayLike<number>) =>
    Array.from({ length: 5 }, (_, k) => Array.from(data).slice(k * 320, (k + 1) * 320).sort((a, b) => a - b));
  assert.ok(relativeDiff(perSlice(vol.data).flat(), perSlice(ref.data as Float32Array).flat()) <= 1e-7);
  const npy = await run(["stages.write.format=npy"]);
  const volume = readNpy(npy.inputs[0].outputs.find((o) => o.endsWith(".npy"))!);
  assert.deepEqual(volume.shape, [5, 1, 16, 20]);
  assert.ok(relativeDiff(volume.data, ref.data as Float32Array) <= 1e-7);
});

Deno.test("inspect says what suv would do with a PET file: the factor and its facts, or why not", async () => {
  const start = await runCli(["inspect", join(DIR, "pet_bqml_start.dcm")]);
  assert.equal(start.code, 0, start.stderr);
  assert.match(
    start.stdout,
    /SUV \(body weight\)\s+x 0\.000290745 \(72\.5 kg, 370\.0 MBq injected, decayed 62\.5 min to the scan start; DecayCorrection START\)/,
  );
  const counts = await runCli(["inspect", join(DIR, "pet_counts.dcm")]);
  assert.match(
    counts.stdout,
    /SUV \(body weight\)\s+not computable \(PET_UNITS\): Units \(0054,1001\) is CNTS/,
  );
  const ct = await runCli(["inspect", "tests/fixtures/dicom/implicit_le.dcm"]);
  assert.doesNotMatch(ct.stdout, /SUV/);
});

for (const body of ["lean", "bsa"] as const) {
  Deno.test(`SUV by ${body}: the factor of every fixture is the reference's, or its refusal`, async () => {
    for (const name of OK) {
      const want = EXPECTED[name][body]!;
      const r = suvFactor((await decodeDicomAsync(read(name))).meta.dataset, body);
      if (want.code) {
        assert.equal(r.ok ? "" : r.code, want.code, name);
        continue;
      }
      assert.ok(r.ok, `${name}: ${r.ok ? "" : r.message}`);
      assert.ok(Math.abs(r.factor.scale - want.scale!) <= 1e-12 * want.scale!, `${name}: ${r.factor.scale}`);
      assert.equal(r.factor.body, body);
    }
  });
}

Deno.test("suv with body: lean in a run: each value the body-weight reference times lean/weight; refusals coded", async () => {
  const input = tempDir();
  for (const f of OK) copyFileSync(join(DIR, f), join(input, f));
  const file = join(tempDir(), "p.yaml");
  writeFileSync(file, `${SUV}    with: { body: lean }\n  - use: write\n    with: { format: npy }\n`);
  const out = join(tempDir(), "out");
  const ledger = await runPipelinePromise(file, { inputs: [input], out, device: "cpu", workers: 0 });
  for (const entry of ledger.inputs) {
    const name = entry.input.split(/[\\/]/).pop()!;
    const lean = EXPECTED[name].lean!;
    if (lean.code) {
      assert.equal(entry.error?.code, lean.code, name);
      assert.match(entry.error!.message, /PatientS(ize|ex) \(0010,(1020|0040)\)/);
      continue;
    }
    const ref = decodeNpy(read(name.replace(".dcm", ".suv.npy")));
    const ratio = lean.scale! / EXPECTED[name].scale!;
    const want = Float32Array.from(ref.data as Float32Array, (v) => v * ratio);
    const got = readNpy(join(out, name.replace(".dcm", ".npy")));
    assert.ok(relativeDiff(got.data, want) <= 1e-6, `${name}: ${relativeDiff(got.data, want)}`);
  }
  const messages = ledger.inputs.filter((e) => e.error).map((e) => e.error!.message).join("\n");
  assert.match(messages, /PatientSize \(0010,1020\) is 178: .*in metres/);
  assert.match(messages, /PatientSex \(0010,0040\) is O/);
});
