/**
 * onnxruntime, loaded lazily: `onnxruntime-node` (native CPU provider, bundled binary) and
 * `onnxruntime-web` (wasm; `onnxruntime-web/webgpu` for the WebGPU provider). Sessions are created once per
 * (model, provider, threads) and shared by every input of a run.
 *
 * @module
 */
import type * as OrtCommon from "onnxruntime-web";

/** Where a session runs. */
export type Provider = "native" | "wasm" | "webgpu";

/** The part of the onnxruntime API dcmflow uses (common to node and web). */
export type Ort = Pick<typeof OrtCommon, "InferenceSession" | "Tensor" | "env">;

const modules = new Map<string, Promise<Ort>>();

/** Imports the runtime for a provider (once). */
export const loadOrt = (provider: Provider): Promise<Ort> => {
  const specifier = provider === "native"
    ? "onnxruntime-node"
    : provider === "webgpu"
    ? "onnxruntime-web/webgpu"
    : "onnxruntime-web";
  let mod = modules.get(specifier);
  if (!mod) {
    mod = import(specifier) as Promise<Ort>;
    modules.set(specifier, mod);
  }
  return mod;
};

/** A tensor's metadata as the session reports it (symbolic dimensions as strings). */
export interface ValueInfo {
  readonly name: string;
  readonly type: string;
  readonly shape: ReadonlyArray<number | string>;
}

/** Reads a session's input/output metadata (onnxruntime >= 1.22). */
export const valueInfo = (
  meta: ReadonlyArray<OrtCommon.InferenceSession.ValueMetadata>,
  names: ReadonlyArray<string>,
): ValueInfo[] =>
  names.map((name) => {
    const m = meta.find((v) => v.name === name);
    return m && m.isTensor
      ? { name, type: m.type, shape: m.shape.map((d) => (typeof d === "number" && d > 0 ? d : String(d))) }
      : { name, type: "unknown", shape: [] };
  });

/** Renders a shape like `[batch, 1, 64, 64]`. */
export const formatShape = (shape: ReadonlyArray<number | string | null>): string =>
  `[${shape.map((d) => d ?? "?").join(", ")}]`;
