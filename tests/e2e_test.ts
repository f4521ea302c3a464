// The seed recipe end to end: dcmflow's pipeline output vs. the PyTorch recipe
// (pydicom -> rescale -> DICOM LINEAR window 40/400 -> torchvision resize 224 antialias -> normalize 0.5/0.5),
// computed once by tests/fixtures/make_fixtures.py and committed.
import assert from "node:assert/strict";
import { Effect } from "effect";
import { copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadPipeline, processBytes } from "../mod.ts";
import { decodeNpy } from "../core/npy.ts";
import { maxAbsDiff, readJson, readNpy, runCli, tempDir } from "./helpers.ts";
import { NodeServices } from "@effect/platform-node";

const DIR = "tests/fixtures/e2e";
const cases: Array<{ name: string; dicom: string; expected: string }> =
  readJson(join(DIR, "cases.json")).cases;

Deno.test("seed recipe via the CLI equals PyTorch within 1e-4", async () => {
  const inDir = tempDir();
  for (const c of cases) copyFileSync(join(DIR, c.dicom), join(inDir, c.dicom));
  const out = join(tempDir(), "out");
  const r = await runCli(["run", "pipelines/seed-recipe.yaml", "--input", inDir, "--out", out, "--quiet"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  for (const c of cases) {
    const got = readNpy(join(out, c.dicom.replace(/\.dcm$/, ".npy")));
    const want = readNpy(join(DIR, c.expected));
    assert.deepEqual(got.shape, want.shape, c.name);
    const d = maxAbsDiff(got.data, want.data);
    assert.ok(d <= 1e-4, `${c.name}: max abs diff ${d} > 1e-4`);
  }
});

Deno.test("seed recipe in memory (mod.ts embedding) equals PyTorch within 1e-4", async () => {
  const plan = await Effect.runPromise(
    loadPipeline("pipelines/seed-recipe.yaml").pipe(Effect.provide(NodeServices.layer)),
  );
  for (const c of cases) {
    const { image, files } = await Effect.runPromise(
      processBytes(plan, new Uint8Array(readFileSync(join(DIR, c.dicom)))),
    );
    const want = decodeNpy(new Uint8Array(readFileSync(join(DIR, c.expected))));
    assert.deepEqual([...image.shape], want.shape);
    const d = maxAbsDiff(image.data, want.data as Float32Array);
    assert.ok(d <= 1e-4, `${c.name}: max abs diff ${d}`);
    assert.deepEqual([...files.keys()].sort(), [".json", ".npy", ".png"]);
  }
});
