// The infer stage: logits parity with PyTorch through every provider, plan-time checks against the model,
// coded errors for missing/corrupt/unsupported models, cross-input batching, masks and the run summary.
import assert from "node:assert/strict";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { maxAbsDiff, readJson, readNpy, runCli, tempDir } from "./helpers.ts";

const ONNX = resolve("tests/fixtures/onnx");
const MODEL = resolve("models/nodule_classifier.onnx");
const STUDY = ["slice-001.dcm", "slice-002.dcm", "slice-003.dcm", "slice-004.dcm"];

/** A folder with the four slices the PyTorch references were computed on. */
const studyDir = () => {
  const dir = tempDir();
  for (const f of STUDY) copyFileSync(join("samples/ct-study", f), join(dir, f));
  return dir;
};

/** Writes a pipeline file (model paths absolute) and returns its path. */
const pipeline = (stages: string) => {
  const file = join(tempDir(), "p.yaml");
  writeFileSync(
    file,
    `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: -600, width: 1500 }
  - use: resize
    with: { width: 64, height: 64 }
  - use: normalize
    with: { mean: [0.5], std: [0.5] }
${stages}`,
  );
  return file;
};

const logitsPipeline = (extra = "") =>
  pipeline(`  - use: infer
    with: { model: ${MODEL}${extra} }
  - use: write
    with: { format: npy }
  - use: write
    with: { format: json }
`);

const logitsOf = (out: string) => STUDY.map((f) => readNpy(join(out, f.replace(".dcm", ".npy"))));

for (
  const [name, args] of [
    ["native (onnxruntime-node)", ["--set", "stages.infer.provider=native"]],
    ["wasm (onnxruntime-web)", ["--set", "stages.infer.provider=wasm"]],
    ["auto", []],
    ["GPU path: WGSL stages -> WebGPU provider, zero-copy", [
      "--device",
      "gpu",
      "--set",
      "stages.infer.provider=webgpu",
    ]],
  ] as const
) {
  Deno.test(`logits equal PyTorch within 1e-3: ${name}`, async () => {
    const out = join(tempDir(), "out");
    const r = await runCli([
      "run",
      logitsPipeline(),
      "--input",
      studyDir(),
      "--out",
      out,
      "--quiet",
      ...args,
    ]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const want = readNpy(join(ONNX, "recipe_logits.npy"));
    const got = logitsOf(out);
    got.forEach((g, i) => {
      assert.deepEqual(g.shape, [1, 2]);
      const d = maxAbsDiff(g.data, want.data.slice(i * 2, i * 2 + 2));
      assert.ok(d <= 1e-3, `${STUDY[i]}: max abs diff ${d}`);
    });
    const ledger = readJson(join(out, "dcmflow-run.json"));
    const info = ledger.pipeline.stages.find((s: { use: string }) => s.use === "infer").info;
    if (name === "auto") assert.match(info.reason, /^auto: /);
    const provider = readJson(join(out, "slice-001.json")).stages.infer.provider;
    const expected = name.startsWith("GPU") ? "webgpu" : name.startsWith("wasm") ? "wasm" : "native";
    assert.equal(provider, expected, "the provider that really ran");
    if (expected === "webgpu") assert.equal(ledger.device.kind, "gpu");
  });
}

Deno.test("the pipeline's tensor equals the PyTorch recipe's model input (1e-4)", async () => {
  const out = join(tempDir(), "out");
  const file = pipeline("  - use: write\n    with: { format: npy }\n");
  const r = await runCli(["run", file, "--input", studyDir(), "--out", out, "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const want = readNpy(join(ONNX, "recipe_inputs.npy"));
  STUDY.forEach((f, i) => {
    const got = readNpy(join(out, f.replace(".dcm", ".npy")));
    const d = maxAbsDiff(got.data, want.data.slice(i * 4096, (i + 1) * 4096));
    assert.ok(d <= 1e-4, `${f}: ${d}`);
  });
});

Deno.test("batching across inputs gives the same outputs as one input per call", async () => {
  const dir = studyDir();
  const a = join(tempDir(), "a");
  const b = join(tempDir(), "b");
  assert.equal(
    (await runCli(["run", logitsPipeline(", batch: 1"), "--input", dir, "--out", a, "-q"])).code,
    0,
  );
  assert.equal(
    (await runCli(["run", logitsPipeline(", batch: 3"), "--input", dir, "--out", b, "-q"])).code,
    0,
  );
  logitsOf(a).forEach((x, i) => assert.ok(maxAbsDiff(x.data, logitsOf(b)[i].data) <= 1e-6));
});

Deno.test("the demo (task start) prints predictions with labels and writes them to json", async () => {
  const out = join(tempDir(), "out");
  const r = await runCli([
    "run",
    "pipelines/ct-default.yaml",
    "--input",
    "samples/ct-study",
    "--out",
    out,
    "-q",
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /predictions:/);
  assert.match(r.stdout, /slice-001\.dcm\s+no_nodule 0\.9\d\d/);
  assert.match(r.stdout, /slice-003\.dcm\s+nodule (0\.9\d\d|1\.000)/);
  const json = readJson(join(out, "slice-002.json"));
  assert.equal(json.predictions[0].top[0].label, "nodule");
  assert.equal(json.predictions[0].activation, "softmax");
  const probs = readNpy(join(out, "slice-002.npy"));
  const want = readNpy(join(ONNX, "recipe_probabilities.npy"));
  assert.ok(maxAbsDiff(probs.data, want.data.slice(2, 4)) <= 1e-3);
  const ledger = readJson(join(out, "dcmflow-run.json"));
  assert.equal(ledger.inputs[1].predictions[0].top[0].label, "nodule");
});

Deno.test("a shape mismatch with the model is a pipeline error naming input, expected and produced shapes", async () => {
  const file = pipeline(`  - use: infer
    with: { model: ${join(ONNX, "fixed_3x224.onnx")} }
`);
  const r = await runCli(["validate", file]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(
    r.stderr,
    /model input "x" expects float32 \[1, 3, 224, 224\], but the pipeline gives \[frames, \?, 64, 64\]; resize with \{ width: 224, height: 224 \}/,
  );
  const run = await runCli(["run", file, "--input", "samples/ct-study", "--out", join(tempDir(), "x")]);
  assert.equal(run.code, 2);
});

Deno.test("missing, corrupt and unsupported models: exit 2 with a coded, clear message", async () => {
  const cases = [
    [join(ONNX, "nope.onnx"), /MODEL_NOT_FOUND: model file .*nope\.onnx not found/],
    [join(ONNX, "corrupt.onnx"), /MODEL_INVALID: cannot load model .*corrupt\.onnx/],
    [join(ONNX, "unsupported_op.onnx"), /UNSUPPORTED_OPERATOR: .*operator ImageDecoder is not supported/],
    [join(ONNX, "unknown_op.onnx"), /UNSUPPORTED_OPERATOR: .*operator NoSuchOp is not supported/],
  ] as const;
  for (const [model, pattern] of cases) {
    const r = await runCli(["validate", pipeline(`  - use: infer\n    with: { model: ${model} }\n`)]);
    assert.equal(r.code, 2, model);
    assert.match(r.stderr, pattern);
    assert.match(r.stderr, /p\.yaml:\d+:\d+: stage "infer"/);
    assert.match(
      r.stderr,
      new RegExp(`^error\\[${pattern.source.split(":")[0]}\\]`),
      "the model error's code",
    );
  }
  const rel = await runCli(["validate", pipeline("  - use: infer\n    with: { model: ./missing.onnx }\n")]);
  assert.match(rel.stderr, /resolved|missing\.onnx not found/);
});

Deno.test("segmentation: sigmoid -> threshold masks equal PyTorch's, as npy and png", async () => {
  const out = join(tempDir(), "out");
  const file = pipeline(`  - use: infer
    with: { model: ${join(ONNX, "segmenter.onnx")} }
  - use: sigmoid
  - use: threshold
    with: { value: 0.5 }
  - use: write
    with: { format: npy }
  - use: write
    with: { format: png }
  - use: write
    with: { format: json }
`);
  for (const device of ["cpu", "gpu"]) {
    const r = await runCli(["run", file, "--input", studyDir(), "--out", out, "-q", "--device", device]);
    assert.equal(r.code, 0, r.stderr);
    const logits = readNpy(join(ONNX, "segmenter_outputs.npy"));
    STUDY.forEach((f, i) => {
      const mask = readNpy(join(out, f.replace(".dcm", ".npy")));
      assert.deepEqual(mask.shape, [1, 1, 64, 64]);
      const want = logits.data.slice(i * 4096, (i + 1) * 4096).map((
        x,
      ) => (1 / (1 + Math.exp(-x)) >= 0.5 ? 1 : 0));
      assert.equal(maxAbsDiff(mask.data, want), 0, `${device} ${f}`);
    });
    assert.match(r.stdout, /slice-00[234]\.dcm\s+mask \d\.\d% \(\d+ px\)/);
    assert.ok(readFileSync(join(out, "slice-002.png")).length > 0);
  }
});

Deno.test("argmax gives the class per frame", async () => {
  const out = join(tempDir(), "out");
  const file = pipeline(
    `  - use: infer\n    with: { model: ${MODEL} }\n  - use: argmax\n  - use: write\n    with: { format: npy }\n`,
  );
  const r = await runCli(["run", file, "--input", studyDir(), "--out", out, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(STUDY.map((f) => readNpy(join(out, f.replace(".dcm", ".npy"))).data), [[0], [1], [1], [
    1,
  ]]);
  assert.deepEqual(readNpy(join(out, "slice-001.npy")).shape, [1]);
});

Deno.test("topk with labels; png of a class vector is refused at plan time", async () => {
  const out = join(tempDir(), "out");
  const labels = resolve("models/nodule_classifier.labels.txt");
  const file = pipeline(`  - use: infer
    with: { model: ${MODEL} }
  - use: softmax
  - use: topk
    with: { k: 2, labels: ${labels} }
  - use: write
    with: { format: json }
  - use: write
    with: { format: npy }
`);
  const r = await runCli(["run", file, "--input", studyDir(), "--out", out, "-q"]);
  assert.equal(r.code, 0, r.stderr);
  const t = readNpy(join(out, "slice-003.npy"));
  assert.deepEqual(t.shape, [1, 2, 2]);
  assert.deepEqual(t.data.slice(2), [1, 0]); // indices: nodule first
  const json = readJson(join(out, "slice-003.json"));
  assert.deepEqual(json.predictions[0].top.map((c: { label: string }) => c.label), ["nodule", "no_nodule"]);
  const png = await runCli([
    "validate",
    pipeline(`  - use: infer\n    with: { model: ${MODEL} }\n  - use: write\n    with: { format: png }\n`),
  ]);
  assert.equal(png.code, 2);
  assert.match(png.stderr, /png previews need images or masks/);
});
