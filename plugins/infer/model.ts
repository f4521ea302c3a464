/**
 * Loading ONNX models: provider choice, error mapping, and the model's input/output contract.
 *
 * @module
 */
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import { existsSync, readFileSync } from "node:fs";
import type * as OrtWeb from "onnxruntime-web";
import { loadOrt, type Ort, type Provider, type ValueInfo, valueInfo } from "./ort.ts";

/** A typed, coded inference failure (model loading, provider, shapes, run). */
export class InferError extends Data.TaggedError("InferError")<{
  readonly code:
    | "MODEL_NOT_FOUND"
    | "MODEL_INVALID"
    | "UNSUPPORTED_OPERATOR"
    | "PROVIDER_UNAVAILABLE"
    | "INPUT_MISMATCH"
    | "INFERENCE_FAILED"
    | "GPU_OUT_OF_MEMORY";
  readonly message: string;
}> {}

/** Requested provider, as in the pipeline. */
export type ProviderChoice = "auto" | Provider;

/** A model with a session for CPU runs and what is known about its tensors. */
export interface LoadedModel {
  readonly path: string;
  readonly bytes: Uint8Array;
  /** Provider of `session` (native or wasm; a WebGPU session is made per device when the GPU path runs). */
  readonly provider: Exclude<Provider, "webgpu">;
  /** Why that provider (shown in the ledger). */
  readonly reason: string;
  readonly ort: Ort;
  readonly session: OrtWeb.InferenceSession;
  readonly inputs: ReadonlyArray<ValueInfo>;
  readonly outputs: ReadonlyArray<ValueInfo>;
}

const cache = new Map<string, Promise<LoadedModel>>();

/** Turns an onnxruntime error into a coded, readable one. */
const classify = (path: string, provider: Provider, e: unknown): InferError => {
  const text = e instanceof Error ? e.message : String(e);
  const op = /implementation for (?:node )?'?([A-Za-z0-9_]+)/i.exec(text) ??
    /(?:[A-Za-z0-9_.]+:)?([A-Za-z0-9_]+)\(-?\d+\) is not a registered function\/op/.exec(text) ??
    /(?:operator|op(?:erator)? type)[: ]+'?([A-Za-z0-9_]+)'? (?:is )?not (?:supported|implemented)/i.exec(
      text,
    );
  if (op) {
    return new InferError({
      code: "UNSUPPORTED_OPERATOR",
      message: `model ${path}: operator ${op[1]} is not supported by the ${provider} provider` +
        (provider === "native" ? "" : "; try provider: native") + ` (${text.split("\n")[0]})`,
    });
  }
  return new InferError({
    code: "MODEL_INVALID",
    message: `cannot load model ${path} with the ${provider} provider: ${text.split("\n")[0]} ` +
      "(is it an ONNX file? re-export it, e.g. with torch.onnx.export)",
  });
};

const createSession = async (
  ort: Ort,
  bytes: Uint8Array,
  provider: Provider,
  threads: number | undefined,
) => {
  if (provider === "native") {
    return await ort.InferenceSession.create(bytes, {
      executionProviders: ["cpu"],
      ...(threads ? { intraOpNumThreads: threads } : {}),
    });
  }
  ort.env.wasm.numThreads = threads ?? 1;
  return await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
};

const load = async (
  path: string,
  choice: ProviderChoice,
  threads: number | undefined,
): Promise<LoadedModel> => {
  if (!existsSync(path)) {
    throw new InferError({
      code: "MODEL_NOT_FOUND",
      message: `model file ${path} not found (model: paths are relative to the pipeline file's folder)`,
    });
  }
  const bytes = new Uint8Array(readFileSync(path));
  const tries: Array<Exclude<Provider, "webgpu">> = choice === "native"
    ? ["native"]
    : choice === "auto"
    ? ["native", "wasm"]
    : ["wasm"];
  let reason = choice === "auto" ? "auto: onnxruntime-node (native CPU) loaded" : `provider: ${choice}`;
  if (choice === "webgpu") reason = "provider: webgpu on the GPU path (wasm for CPU runs)";
  for (const provider of tries) {
    let ort: Ort;
    try {
      ort = await loadOrt(provider);
    } catch (e) {
      const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
      if (choice === "native" || provider === "wasm") {
        throw new InferError({
          code: "PROVIDER_UNAVAILABLE",
          message: `provider ${provider} is unavailable: ${why}` +
            (choice === "native" ? "; use provider: auto or wasm" : ""),
        });
      }
      reason = `auto: onnxruntime-node unavailable (${why}); using wasm`;
      continue;
    }
    let session: OrtWeb.InferenceSession;
    try {
      session = await createSession(ort, bytes, provider, threads);
    } catch (e) {
      throw classify(path, provider, e);
    }
    return {
      path,
      bytes,
      provider,
      reason,
      ort,
      session,
      inputs: valueInfo(session.inputMetadata, session.inputNames),
      outputs: valueInfo(session.outputMetadata, session.outputNames),
    };
  }
  throw new InferError({ code: "PROVIDER_UNAVAILABLE", message: "no onnxruntime provider could be loaded" });
};

/** Loads (once per path, provider and threads) a model and its CPU session. */
export const loadModel = (
  path: string,
  choice: ProviderChoice,
  threads: number | undefined,
): Effect.Effect<LoadedModel, InferError> => {
  const key = `${path}|${choice}|${threads ?? ""}`;
  let p = cache.get(key);
  if (!p) {
    p = load(path, choice, threads);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  const pending = p;
  return Effect.tryPromise({
    try: () => pending,
    catch: (e) =>
      e instanceof InferError
        ? e
        : new InferError({ code: "MODEL_INVALID", message: `cannot load model ${path}: ${e}` }),
  });
};

const gpuSessions = new WeakMap<GPUDevice, Map<string, Promise<OrtWeb.InferenceSession>>>();

/**
 * A WebGPU session for `model` on `device` (the GPU path's own device, so GPU buffers pass without copies;
 * onnxruntime-web 1.30 takes the device in the provider options).
 */
export const webgpuSession = (
  model: LoadedModel,
  device: GPUDevice,
): Effect.Effect<{ ort: Ort; session: OrtWeb.InferenceSession }, InferError> =>
  Effect.tryPromise({
    try: async () => {
      const ort = await loadOrt("webgpu");
      let byModel = gpuSessions.get(device);
      if (!byModel) gpuSessions.set(device, byModel = new Map());
      let s = byModel.get(model.path);
      if (!s) {
        s = ort.InferenceSession.create(model.bytes, {
          executionProviders: [
            { name: "webgpu", device } as unknown as OrtWeb.InferenceSession.ExecutionProviderConfig,
          ],
          preferredOutputLocation: "gpu-buffer",
        });
        byModel.set(model.path, s);
      }
      return { ort, session: await s };
    },
    catch: (e) => (e instanceof InferError ? e : classify(model.path, "webgpu", e)),
  });
