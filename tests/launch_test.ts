/**
 * The CLI's launcher (cli/launch.ts): which bundle a command runs from, and how many worker threads a run
 * starts before anything heavy is loaded.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { flagValues, launchPlan } from "../cli/launch.ts";
import { defaultWorkerCount } from "../core/run/pool.ts";
import { tempDir } from "./helpers.ts";

const SEED = "pipelines/seed-recipe.yaml";

/** A folder holding `n` files (their content does not matter here). */
const folderOf = (n: number): string => {
  const dir = tempDir("dcmflow-launch-");
  for (let i = 0; i < n; i++) writeFileSync(join(dir, `f${i}.dcm`), "x");
  return dir;
};

Deno.test("flag values: --name V, --name=V and the alias", () => {
  const argv = ["run", "p.yaml", "--input", "a", "-i", "b", "--input=c", "--workers", "3"];
  assert.deepEqual(flagValues(argv, "input", "i"), ["a", "b", "c"]);
  assert.deepEqual(flagValues(argv, "workers"), ["3"]);
  assert.deepEqual(flagValues(argv, "device"), []);
});

Deno.test("a run over several inputs starts its workers first; other commands and single inputs none", async () => {
  const many = folderOf(3);
  const run = (...rest: string[]) => launchPlan(["run", SEED, "--out", "o", ...rest]);
  assert.equal((await run("--input", many)).workers, defaultWorkerCount());
  assert.equal((await run("--input", many, "--workers", "3")).workers, 3);
  assert.equal((await run("--input", many, "--workers=0")).workers, 0);
  assert.equal((await run("--input", many, "--device", "gpu")).workers, 0);
  assert.equal((await run("--input", many, "--help")).workers, 0);
  assert.equal((await run("--input", join(many, "f0.dcm"))).workers, 0, "one file");
  assert.equal((await run("--input", folderOf(1))).workers, 0, "a folder of one file");
  assert.equal((await run("--input", folderOf(0))).workers, 0, "an empty folder");
  assert.equal((await run("--input", join(many, "missing"))).workers, 0);
  const two = (await run("-i", join(many, "f0.dcm"), "-i", join(many, "f1.dcm"))).workers;
  assert.equal(two, defaultWorkerCount(), "two files");
  const nested = folderOf(0);
  mkdirSync(join(nested, "series"));
  assert.equal(
    (await run("--input", nested)).workers,
    defaultWorkerCount(),
    "a lone sub-folder may hold many",
  );
  assert.equal((await launchPlan(["validate", SEED])).workers, 0);
  const gpuPipeline = join(tempDir(), "gpu.yaml");
  writeFileSync(gpuPipeline, "dcmflow: 1\ndevice: gpu\nstages:\n  - use: decode\n");
  assert.equal((await launchPlan(["run", gpuPipeline, "--input", many, "--out", "o"])).workers, 0);
  assert.equal(
    (await launchPlan(["run", gpuPipeline, "--input", many, "--out", "o", "--device", "cpu"])).workers,
    defaultWorkerCount(),
  );
});

Deno.test("the self-contained bundle only when nothing may load a plugin", async () => {
  assert.equal((await launchPlan(["run", SEED, "--input", "x", "--out", "o"])).standalone, true);
  assert.equal((await launchPlan(["inspect", "f.dcm"])).standalone, true);
  assert.equal(
    (await launchPlan(["run", "tests/fixtures/plugins/crash.yaml", "-i", "x", "-o", "o"])).standalone,
    false,
  );
  assert.equal((await launchPlan(["plugins"])).standalone, false);
  assert.equal((await launchPlan(["run", SEED, "--set", "plugins=./p.ts"])).standalone, false);
  assert.equal(
    (await launchPlan(["validate", "missing.yaml"])).standalone,
    false,
    "an unreadable pipeline: unknown",
  );
  const flow = join(tempDir(), "flow.yaml");
  writeFileSync(flow, "{ dcmflow: 1, plugins: [./p.ts], stages: [{ use: decode }] }\n");
  assert.equal((await launchPlan(["validate", flow])).standalone, false, "plugins in flow style");
});
