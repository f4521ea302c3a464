/**
 * dcmflow: DICOM studies to model-ready tensors through declarative YAML pipelines of Effect-typed stages.
 *
 * Run a pipeline file over a folder, as the CLI does:
 *
 * ```ts
 * import { runPipelinePromise } from "./mod.ts";
 *
 * const ledger = await runPipelinePromise("pipelines/ct-default.yaml", {
 *   inputs: ["samples/ct-study"],
 *   out: "out-embedded",
 * });
 * console.log(ledger.summary); // { total: 6, ok: 6, error: 0 }
 * ```
 *
 * Or keep tensors in memory, with a pipeline written inline:
 *
 * ```ts
 * import { Effect } from "effect";
 * import { readFileSync } from "node:fs";
 * import { planText, processBytes } from "./mod.ts";
 *
 * const program = Effect.gen(function* () {
 *   const plan = yield* planText(
 *     `dcmflow: 1
 * stages:
 *   - use: decode
 *   - use: rescale
 *   - use: window
 *     with: { preset: lung }
 *   - use: resize
 *     with: { width: 224, height: 224 }`,
 *     "inline.yaml",
 *   );
 *   const { image } = yield* processBytes(plan, readFileSync("samples/ct-study/slice-001.dcm"));
 *   return image.shape; // [1, 1, 224, 224]
 * });
 * console.log(await Effect.runPromise(program));
 * ```
 *
 * Third-party stages use the same API as the built-ins: {@link defineStage} and {@link definePlugin}.
 *
 * @module
 */
export {
  builtinRegistry,
  loadPipeline,
  planText,
  processBytes,
  runPipeline,
  runPipelinePromise,
} from "./core/api.ts";
export type { LoadOptions, ProcessedImage } from "./core/api.ts";
export { type CodedError, PipelineError, type SourceLocation, StageError } from "./core/errors.ts";
export type { ImageMeta, LutTable, WindowValue } from "./core/meta.ts";
export { decodeNpy, encodeNpy } from "./core/npy.ts";
export { Output, type OutputShape } from "./core/output.ts";
export { parsePipeline, type PipelineDecl, type StageDecl } from "./core/pipeline.ts";
export { type Plan, plan, type PlannedStage } from "./core/planner.ts";
export { makeRegistry, type Registry } from "./core/registry.ts";
export { type Ledger, LEDGER_FILE, type LedgerEntry, type RunOptions, runPlan } from "./core/runtime.ts";
export {
  definePlugin,
  defineStage,
  type ImageStage,
  type Plugin,
  type SourceFile,
  type SourceStage,
  type Stage,
} from "./core/stage.ts";
export { type Image, type Kind, KINDS, type Shape, type TensorSpec, withData } from "./core/tensor.ts";
export { VERSION } from "./core/version.ts";
export type { GpuBatch } from "./core/gpu/batch.ts";
export {
  acquireGpu,
  CpuFallback,
  Gpu,
  GpuDeviceLost,
  type GpuError,
  GpuLive,
  GpuOutOfMemory,
  type GpuShape,
  GpuUnavailable,
  WgslCompileError,
} from "./core/gpu/device.ts";
export {
  dispatch,
  dispatchSize,
  type ProgramInfo,
  readBack,
  storageFrom,
  uniformFrom,
} from "./core/gpu/kernels.ts";
export { chooseDevice, type DeviceInfo } from "./core/runtime.ts";
export {
  argmax,
  builtinStages,
  decode,
  infer,
  normalize,
  rescale,
  resize,
  sigmoid,
  softmax,
  threshold,
  topk,
  window,
  write,
} from "./plugins/mod.ts";
export { resizePlanes } from "./core/cpu/resize.ts";
export { applyWindow, linear, linearExact, sigmoid as sigmoidVoi } from "./plugins/window/voi.ts";
export { PRESETS } from "./plugins/window/presets.ts";
export {
  type DecodedDicom,
  decodeDicom,
  decodeDicomAsync,
  DicomDecodeError,
  loadCodecs,
  readHeader,
  readRawPixels,
  TRANSFER_SYNTAXES,
} from "./plugins/decode/dicom.ts";
export { type ClassScore, type FramePrediction, summarizePredictions } from "./core/predictions.ts";
