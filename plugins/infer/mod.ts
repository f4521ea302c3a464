/**
 * `infer`: ONNX inference (onnxruntime) on the pipeline's tensor - logits, probabilities, masks.
 *
 * - The model (path relative to the pipeline file) is loaded once per run, at plan time, so its input
 *   contract is checked against the tensor the previous stages produce before any file is read.
 * - Frames of several inputs are batched along the model's batch axis (`batch`), then split back per input.
 * - `provider: auto` uses onnxruntime-node (native CPU) when it loads, else the wasm build; on the GPU path
 *   with a hardware adapter it uses the WebGPU provider on dcmflow's own device, feeding the previous
 *   stage's GPU buffer without a copy (`Tensor.fromGpuBuffer`). `webgpu` forces that on any adapter.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Result from "effect/Result";
import * as Schema from "effect/Schema";
import { basename } from "node:path";
import type * as OrtWeb from "onnxruntime-web";
import {
  classScores,
  defineStage,
  type GpuBatch,
  GpuOutOfMemory,
  type Image,
  readLabels,
  resolveFromPipeline,
  type Shape,
  type TensorSpec,
} from "../../plugin.ts";
import { InferError, type LoadedModel, loadModel, webgpuSession } from "./model.ts";
import { formatShape, type ValueInfo } from "./ort.ts";

const Params = Schema.Struct({
  model: Schema.String.check(Schema.isMinLength(1)).annotate({
    description: "ONNX file, relative to the pipeline",
  }),
  input: Schema.optionalKey(
    Schema.String.annotate({ description: "model input name (default: its only input)" }),
  ),
  outputs: Schema.optionalKey(
    Schema.NonEmptyArray(Schema.String).annotate({
      description:
        "outputs to keep (default: all); the first is the tensor, others are written as x.NAME.npy",
    }),
  ),
  provider: Schema.optionalKey(
    Schema.Literals(["auto", "native", "wasm", "webgpu"]).annotate({ description: "default auto" }),
  ),
  batch: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 1024 })).annotate({
      description: "frames per model call, across inputs (default 8)",
    }),
  ),
  threads: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 256 })).annotate({ description: "CPU threads" }),
  ),
  labels: Schema.optionalKey(
    Schema.String.annotate({ description: "text file, one class label per line (for json and the summary)" }),
  ),
});

/** Parameters of the `infer` stage. */
export type InferParams = typeof Params.Type;

/** What setup resolved for a params object. */
interface Resolved {
  readonly model: LoadedModel;
  readonly input: ValueInfo;
  readonly outputs: ReadonlyArray<ValueInfo>;
  readonly labels?: ReadonlyArray<string>;
}

const resolved = new WeakMap<InferParams, Resolved>();

const get = (p: InferParams): Resolved => {
  const r = resolved.get(p);
  if (!r) throw new Error("infer: params were not prepared by setup (plan the pipeline first)");
  return r;
};

/** Fixed dimension, or undefined for symbolic ones. */
const fixed = (d: number | string | undefined) => (typeof d === "number" ? d : undefined);

/** Checks an image's [C, H, W] against the model input; a message when they differ. */
const mismatch = (input: ValueInfo, dims: ReadonlyArray<number | null>): string | undefined => {
  const want = input.shape.slice(1);
  if (input.shape.length !== dims.length + 1) {
    return `model input "${input.name}" has rank ${input.shape.length} ${formatShape(input.shape)}; ` +
      `dcmflow feeds [frames, ${dims.length === 3 ? "channels, rows, cols" : "..."}]`;
  }
  const bad = want.some((d, i) => fixed(d) !== undefined && dims[i] !== null && dims[i] !== d);
  if (!bad) return undefined;
  const hints: string[] = [];
  if (want.length === 3) {
    const [c, h, w] = want;
    if (fixed(h) !== undefined && fixed(w) !== undefined && (dims[1] !== h || dims[2] !== w)) {
      hints.push(`resize with { width: ${w}, height: ${h} }`);
    }
    if (fixed(c) === 3 && dims[0] === 1) hints.push("replicate gray to RGB with normalize { channels: 3 }");
  }
  return `model input "${input.name}" expects ${input.type} ${
    formatShape(input.shape)
  }, but the pipeline gives ` +
    `[frames, ${dims.map((d) => d ?? "?").join(", ")}]${hints.length ? `; ${hints.join(", ")}` : ""}`;
};

/** Converts any onnxruntime output data to float32. */
const toF32 = (data: unknown): Float32Array => {
  if (data instanceof Float32Array) return data;
  if (data instanceof BigInt64Array || data instanceof BigUint64Array) return Float32Array.from(data, Number);
  return Float32Array.from(data as ArrayLike<number>, Number);
};

const notesOf = (r: Resolved, provider: string) => ({
  infer: {
    model: basename(r.model.path),
    provider,
    input: r.input.name,
    outputs: r.outputs.map((o) => o.name),
  },
  ...(r.labels ? { labels: r.labels } : {}),
});

/** Runs the CPU session over the frames of several images, `batch` frames per call. */
const runCpu = Effect.fnUntraced(function* (images: ReadonlyArray<Image>, p: InferParams) {
  const r = get(p);
  const results: Array<Result.Result<Image, InferError>> = images.map(() => Result.fail(undefined as never));
  const ok: number[] = [];
  images.forEach((img, k) => {
    const problem = mismatch(r.input, img.shape.slice(1));
    if (problem) results[k] = Result.fail(new InferError({ code: "INPUT_MISMATCH", message: problem }));
    else ok.push(k);
  });
  const fixedBatch = fixed(r.input.shape[0]);
  const step = fixedBatch ?? p.batch ?? 8;
  // Frames of the valid images, in order, with where each goes back.
  const frames: Array<{ readonly image: number; readonly data: Float32Array }> = [];
  for (const k of ok) {
    const img = images[k];
    const per = img.data.length / img.shape[0];
    for (let f = 0; f < img.shape[0]; f++) {
      frames.push({ image: k, data: img.data.subarray(f * per, (f + 1) * per) });
    }
  }
  const outs = new Map<string, Float32Array[]>(r.outputs.map((o) => [o.name, []]));
  const outDims = new Map<string, number[]>();
  for (let at = 0; at < frames.length; at += step) {
    const chunk = frames.slice(at, at + step);
    const shape = [step === fixedBatch ? step : chunk.length, ...images[chunk[0].image].shape.slice(1)];
    const per = chunk[0].data.length;
    const data = new Float32Array(shape[0] * per);
    chunk.forEach((c, i) => data.set(c.data, i * per));
    const feeds = { [r.input.name]: new r.model.ort.Tensor("float32", data, shape) } as Record<
      string,
      OrtWeb.Tensor
    >;
    const result = yield* Effect.tryPromise({
      try: () => r.model.session.run(feeds, r.outputs.map((o) => o.name)),
      catch: (e) =>
        new InferError({
          code: "INFERENCE_FAILED",
          message: `${basename(r.model.path)}: ${e instanceof Error ? e.message.split("\n")[0] : e}`,
        }),
    });
    for (const o of r.outputs) {
      const t = result[o.name];
      const all = toF32(t.data);
      const n = t.dims[0];
      const each = all.length / n;
      outDims.set(o.name, t.dims.slice(1).map(Number));
      for (let i = 0; i < chunk.length; i++) outs.get(o.name)!.push(all.subarray(i * each, (i + 1) * each));
    }
  }
  // Split back per image.
  let cursor = 0;
  for (const k of ok) {
    const img = images[k];
    const count = img.shape[0];
    const pick = (name: string) => {
      const parts = outs.get(name)!.slice(cursor, cursor + count);
      const each = parts[0]?.length ?? 0;
      const data = new Float32Array(each * count);
      parts.forEach((d, i) => data.set(d, i * each));
      return { name, shape: [count, ...(outDims.get(name) ?? [])] as Shape, data };
    };
    const [main, ...extra] = r.outputs.map((o) => pick(o.name));
    results[k] = Result.succeed({
      ...img,
      kind: "prediction",
      shape: main.shape,
      data: main.data,
      notes: { ...img.notes, ...notesOf(r, r.model.provider) },
      ...(extra.length > 0 ? { extras: extra } : {}),
    });
    cursor += count;
  }
  return results;
});

/** The GPU form: feeds the batch's GPU buffer to a WebGPU session on the same device (no copy). */
const runGpu = Effect.fnUntraced(function* (p: InferParams, batch: GpuBatch) {
  const r = get(p);
  const problem = mismatch(r.input, batch.shape.slice(1));
  if (problem) return yield* new InferError({ code: "INPUT_MISMATCH", message: problem });
  const { ort, session } = yield* webgpuSession(r.model, batch.gpu.device);
  const frames = batch.count * batch.shape[0];
  const fixedBatch = fixed(r.input.shape[0]);
  if (fixedBatch !== undefined && fixedBatch !== frames) {
    return yield* new InferError({
      code: "INPUT_MISMATCH",
      message: `model batch axis is fixed to ${fixedBatch}; the GPU batch has ${frames} frames`,
    });
  }
  const input = ort.Tensor.fromGpuBuffer(batch.buffer as unknown as OrtWeb.Tensor.GpuBufferType, {
    dataType: "float32",
    dims: [frames, ...batch.shape.slice(1)],
  });
  const out = yield* Effect.tryPromise({
    try: () => session.run({ [r.input.name]: input }, [r.outputs[0].name]),
    catch: (e) =>
      /out of memory/i.test(String(e))
        ? new GpuOutOfMemory({ code: "GPU_OUT_OF_MEMORY", message: String(e) })
        : new InferError({
          code: "INFERENCE_FAILED",
          message: `${basename(r.model.path)} (webgpu): ${String(e).split("\n")[0]}`,
        }),
  });
  const t = out[r.outputs[0].name];
  const dims = t.dims.slice(1).map(Number);
  const bytes = frames * dims.reduce((a, b) => a * b, 1) * 4;
  // The output buffer belongs to onnxruntime: copy it into one of ours, then let onnxruntime have it back.
  const dst = yield* batch.pool.acquire(bytes, "infer output");
  const encoder = batch.gpu.device.createCommandEncoder({ label: "infer output copy" });
  encoder.copyBufferToBuffer(t.gpuBuffer as unknown as GPUBuffer, 0, dst, 0, Math.ceil(bytes / 4) * 4);
  batch.gpu.device.queue.submit([encoder.finish()]);
  t.dispose();
  batch.pool.release(batch.buffer);
  return { ...batch, buffer: dst, shape: [batch.shape[0], ...dims] };
});

/** The `infer` stage. */
export const infer = defineStage({
  name: "infer",
  description: "ONNX inference (onnxruntime: native CPU, wasm, or WebGPU zero-copy) -> model outputs",
  params: Params,
  examples: [{ model: "../models/nodule_classifier.onnx", labels: "../models/nodule_classifier.labels.txt" }],
  accepts: ["features", "display"],
  produces: "prediction",
  setup: (p, { pipelineDir }) =>
    Effect.gen(function* () {
      const modelPath = resolveFromPipeline(pipelineDir, p.model);
      const model = yield* loadModel(modelPath, p.provider ?? "auto", p.threads);
      const names = model.inputs.map((i) => i.name);
      const inputName = p.input ?? (names.length === 1 ? names[0] : undefined);
      const input = model.inputs.find((i) => i.name === inputName);
      if (!input) {
        return yield* Effect.fail(
          p.input === undefined
            ? `the model has ${names.length} inputs (${names.join(", ")}); choose one with input:`
            : `the model has no input "${p.input}"; its inputs: ${names.join(", ")}`,
        );
      }
      if (input.type !== "float32") {
        return yield* Effect.fail(
          `model input "${input.name}" is ${input.type}; dcmflow feeds float32 tensors`,
        );
      }
      const outputs: ValueInfo[] = [];
      for (const name of p.outputs ?? model.outputs.map((o) => o.name)) {
        const o = model.outputs.find((x) => x.name === name);
        if (!o) {
          return yield* Effect.fail(
            `the model has no output "${name}"; its outputs: ${model.outputs.map((x) => x.name).join(", ")}`,
          );
        }
        outputs.push(o);
      }
      const labels = p.labels === undefined ? undefined : yield* readLabels(pipelineDir, p.labels);
      const prepared: InferParams = { ...p, model: modelPath };
      resolved.set(prepared, { model, input, outputs, ...(labels ? { labels } : {}) });
      return prepared;
    }),
  plan: (p, spec): TensorSpec | string => {
    const r = get(p);
    const problem = mismatch(r.input, [spec.channels, spec.rows, spec.cols]);
    if (problem) return problem;
    const out = r.outputs[0];
    const classes = r.labels?.length;
    const dims = out.shape.slice(1).map((d) => (typeof d === "number" ? d : null));
    if (classes !== undefined && dims.length === 1 && dims[0] !== null && dims[0] !== classes) {
      return `the labels file has ${classes} labels but output "${out.name}" has ${dims[0]} classes`;
    }
    return { kind: "prediction", frames: spec.frames, channels: null, rows: null, cols: null, dims };
  },
  run: (image, p) =>
    Effect.flatMap(
      runCpu([image], p),
      ([r]) => (Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(r.failure)),
    ),
  runBatch: (images, p) => runCpu(images, p),
  batchSize: (p) => p.batch ?? 8,
  report: (p) => inferReport(p),
  gpu: {
    kind: "kernel",
    enabled: (p, gpu) => p.provider === "webgpu" || ((p.provider ?? "auto") === "auto" && !gpu.software),
    run: runGpu,
    notes: (p) => notesOf(get(p), "webgpu"),
  },
  summarize: classScores,
});

/** Provider information for the ledger: what setup chose, and why. */
export const inferReport = (p: InferParams) => {
  const r = resolved.get(p);
  return r ? { provider: r.model.provider, reason: r.model.reason, model: r.model.path } : undefined;
};
