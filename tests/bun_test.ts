// The CPU path of the CLI and of mod.ts under Bun (npm package bun, a devDependency). Fails, never skips,
// when no Bun binary is found.
import assert from "node:assert/strict";
import { join } from "node:path";
import { findBun, maxAbsDiff, readJson, readNpy, tempDir } from "./helpers.ts";

const run = async (cmd: string, args: string[]) => {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
};

Deno.test("bun: the CLI runs the seed recipe (= PyTorch) and the ONNX demo; mod.ts embeds", async () => {
  const bun = findBun();
  assert.ok(
    bun,
    "no Bun binary: run `npx --yes deno@2.9.6 install` (bun is a devDependency) or set BUN_BINARY",
  );
  const version = await run(bun, ["--version"]);
  assert.equal(version.code, 0, version.stderr);

  const out = join(tempDir(), "out");
  const r = await run(bun, [
    "cli.ts",
    "run",
    "pipelines/seed-recipe.yaml",
    "--input",
    "tests/fixtures/e2e/ct-signed16.dcm",
    "--out",
    out,
  ]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const ledger = readJson(join(out, "dcmflow-run.json"));
  assert.match(ledger.runtime, /^bun /);
  const got = readNpy(join(out, "ct-signed16.npy"));
  const want = readNpy("tests/fixtures/e2e/ct-signed16.expected.npy");
  assert.ok(maxAbsDiff(got.data, want.data) <= 1e-4);

  const bad = await run(bun, [
    "cli.ts",
    "validate",
    "tests/fixtures/plugins/gamma.yaml",
    "--set",
    "stages.gamma.gamma=-1",
  ]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /gamma\.yaml:\d+:\d+: stage "gamma": .*Expected a value greater than 0/);

  const demoOut = join(tempDir(), "demo");
  const demo = await run(bun, [
    "cli.ts",
    "run",
    "pipelines/ct-default.yaml",
    "--input",
    "samples/ct-study",
    "--out",
    demoOut,
    "-q",
  ]);
  assert.equal(demo.code, 0, demo.stderr);
  assert.match(demo.stdout, /slice-003\.dcm\s+nodule/);

  const embed = await run(bun, ["tests/fixtures/embed.ts"]);
  assert.equal(embed.code, 0, embed.stderr);
  assert.deepEqual(JSON.parse(embed.stdout), { shape: [1, 3, 224, 224], files: [".npy"], runtime: "bun" });
});
