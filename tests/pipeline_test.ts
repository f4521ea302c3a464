import assert from "node:assert/strict";
import { Effect } from "effect";
import { planText } from "../mod.ts";
import type { PipelineError } from "../core/errors.ts";
import { parsePipeline } from "../core/pipeline.ts";
import { runResult } from "./helpers.ts";

const planErr = async (yaml: string, overrides: string[] = []): Promise<PipelineError> => {
  const r = await runResult(planText(yaml, "p.yaml", { overrides }));
  assert.equal(r._tag, "Failure", "expected the pipeline to be rejected");
  return (r as { failure: PipelineError }).failure;
};

const base = (window: string) =>
  `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: ${window}
    with: { center: 40, width: 400 }
  - use: write
    with: { format: npy }
`;

Deno.test("a misspelt stage is reported at its line with the closest name", async () => {
  const e = await planErr(base("windw"));
  assert.equal(e.code, "UNKNOWN_STAGE");
  assert.deepEqual(e.location, { file: "p.yaml", line: 5, column: 10 });
  assert.match(e.message, /unknown stage "windw"\. Did you mean "window"\?/);
  assert.match(e.render(), /^p\.yaml:5:10: /);
});

Deno.test("parameters are checked by the stage's own Schema, at the parameter's position", async () => {
  const e = await planErr(`dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with:
      center: forty
      width: -3
  - use: resize
    with: { width: 224, heigth: 224 }
  - use: write
    with: { format: tiff }
`);
  assert.equal(e.code, "INVALID_PARAMS");
  const all = e.render();
  assert.match(all, /p\.yaml:7:15: stage "window": stages\[2\]\.with\.center: Expected number/);
  assert.match(all, /p\.yaml:8:14: stage "window": .*width: Expected a value greater than 0/);
  assert.match(all, /unknown key "heigth"\. Did you mean "height"\?/);
  assert.match(all, /missing required key "height"/);
  assert.match(all, /p\.yaml:12:21: .*Expected "npy" \| "png" \| "json"/);
});

Deno.test("stage order is checked before anything runs: window over stored values suggests rescale", async () => {
  const e = await planErr(`dcmflow: 1
stages:
  - use: decode
  - use: window
    with: { preset: lung }
  - use: write
    with: { format: npy }
`);
  assert.equal(e.code, "PLAN_MISMATCH");
  assert.equal(e.location?.line, 4);
  assert.match(
    e.message,
    /"window" takes modality values.*but "decode" gives stored pixel values; add `- use: rescale`/,
  );
});

Deno.test("the first stage must read files", async () => {
  const e = await planErr("dcmflow: 1\nstages:\n  - use: rescale\n");
  assert.equal(e.code, "PLAN_MISMATCH");
  assert.match(e.message, /first stage must read files/);
});

Deno.test("two writers of the same format are refused", async () => {
  const e = await planErr(`dcmflow: 1
stages:
  - use: decode
  - use: write
    with: { format: npy }
  - use: rescale
  - use: write
    with: { format: npy }
`);
  assert.match(e.message, /writes \.npy files, as "write" already does/);
  assert.equal(e.location?.line, 7);
});

Deno.test("window parameter combinations and normalize channel counts are planned", async () => {
  const both = await planErr(`dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { preset: lung, center: 1, width: 2 }
`);
  assert.match(both.message, /exactly one of `center` \+ `width`, `from: dicom`, or `preset`/);
  const narrow = await planErr(base("window").replace("width: 400", "width: 0.5"));
  assert.match(narrow.message, /linear window needs width >= 1/);
  const norm = await planErr(`dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: normalize
    with: { mean: [0.1, 0.2], std: [1, 1], channels: 3 }
`);
  assert.match(norm.message, /mean\/std have 2 values for 3 channels/);
});

Deno.test("--set overrides a parameter by stage id or unique name, and is validated like the file", async () => {
  const yaml = base("window").replace("  - use: write", "  - use: write\n    id: out");
  const plan = await Effect.runPromise(
    planText(yaml, "p.yaml", { overrides: ["stages.window.center=-600", "stages.out.format=png"] }),
  );
  assert.deepEqual(plan.stages[1].params, { center: -600, width: 400 });
  assert.deepEqual(plan.stages[2].params, { format: "png" });
  const bad = await planErr(base("window"), ["stages.windov.center=1"]);
  assert.equal(bad.code, "INVALID_OVERRIDE");
  assert.match(bad.message, /no stage with id or name "windov"\. Did you mean "window"\?/);
  const badValue = await planErr(base("window"), ["stages.window.width=wide"]);
  assert.equal(badValue.code, "INVALID_PARAMS");
  const noEq = await planErr(base("window"), ["stages.window.width"]);
  assert.match(noEq.message, /expected KEY=VALUE/);
});

Deno.test("structural errors: YAML syntax, version, unknown top-level keys, empty stages", async () => {
  const syntax = await Effect.runPromise(
    Effect.flip(parsePipeline("dcmflow: 1\nstages: [\n  - use: decode\n", "s.yaml")),
  );
  assert.equal(syntax.code, "YAML_SYNTAX");
  assert.ok(syntax.location && syntax.location.line >= 2);
  const version = await planErr("dcmflow: 2\nstages: [{ use: decode }]\n");
  assert.match(version.message, /unsupported pipeline format version 2/);
  const missing = await planErr("stages: [{ use: decode }]\n");
  assert.match(missing.message, /missing required key "dcmflow"/);
  const key = await planErr("dcmflow: 1\nstage: []\n");
  assert.match(key.render(), /unknown key "stage"\. Did you mean "stages"\?/);
  const empty = await planErr("dcmflow: 1\nstages: []\n");
  assert.equal(empty.code, "PIPELINE_FORMAT");
});

Deno.test("plugins: load relative to the pipeline file; a missing module is a located error", async () => {
  const yaml = Deno.readTextFileSync("tests/fixtures/plugins/gamma.yaml");
  const plan = await Effect.runPromise(planText(yaml, "tests/fixtures/plugins/gamma.yaml"));
  assert.deepEqual(plan.stages.map((s) => s.stage.name), ["rescale", "window", "gamma", "write"]);
  const e = await Effect.runPromise(
    Effect.flip(planText(yaml.replace("./gamma.ts", "./nope.ts"), "tests/fixtures/plugins/gamma.yaml")),
  );
  assert.equal(e.code, "PLUGIN_LOAD");
  assert.equal(e.location?.line, 3);
  assert.match(e.message, /cannot load plugin "\.\/nope\.ts"/);
});
