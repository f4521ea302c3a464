/**
 * The plugin API: everything a stage needs, and nothing more. dcmflow's built-in stages (`plugins/`) are
 * written with exactly this module, as third-party plugins are (a test holds every built-in to it).
 *
 * ```ts
 * import { Effect, Schema } from "effect";
 * import { definePlugin, defineStage, withData } from "dcmflow/plugin";
 *
 * export const gamma = defineStage({
 *   name: "gamma",
 *   description: "Raise display values to a power.",
 *   params: Schema.Struct({ gamma: Schema.Finite }),
 *   accepts: ["display"],
 *   produces: "same",
 *   run: (image, { gamma }) => Effect.sync(() => withData(image, image.data.map((v) => v ** gamma))),
 * });
 *
 * export default definePlugin({ name: "gamma", stages: [gamma] });
 * ```
 *
 * - Stages: {@link defineStage}, {@link definePlugin}; a stage's CPU form is `run` (an Effect), its
 *   optional GPU form an elementwise WGSL function (fused with its neighbours) or a kernel runner.
 * - Tensors: {@link Image} `[frames, channels, rows, cols]` float32 with its DICOM metadata
 *   ({@link ImageMeta}), {@link withData} to make the next one.
 * - Per-input failures: {@link StageError} (or any tagged error with a `code`); files: the {@link Output}
 *   service; run-level outputs that gather rows from every input (a stacked .npy): {@link Collection};
 *   WGSL: {@link wgslFile} for a `.wgsl` file beside the plugin's module.
 * - GPU kernels: {@link kernelProgram} (a `.wgsl` file with its structs and constants generated from
 *   TypeScript: {@link wgslStruct}, `WORKGROUP_SIZE`), {@link dispatch}, {@link storageFrom},
 *   {@link uniformFrom}, {@link dispatchSize} and the {@link GpuBatch} a kernel stage receives.
 *
 * @module
 */

// Stages and plugins
export {
  definePlugin,
  defineStage,
  type Elementwise,
  type FileGroup,
  type ImageStage,
  type KernelGpu,
  type KernelValues,
  type LookupInput,
  type Plugin,
  type SetupContext,
  type SourceFile,
  type SourceGroup,
  type SourceStage,
  type Stage,
  type Upload,
} from "./core/stage.ts";

// Tensors and metadata
export {
  formatSpec,
  type Image,
  type Kind,
  KINDS,
  type Shape,
  shapeSize,
  type TensorSpec,
  withData,
} from "./core/tensor.ts";
export type {
  FrameRescale,
  FrameVoi,
  ImageMeta,
  LutTable,
  RawPixels,
  RealWorldMapping,
  VolumeGeometry,
  WindowValue,
} from "./dicom/mod.ts";

export { frameMeta } from "./dicom/mod.ts";
export { mapFrames } from "./core/elementwise.ts";

export { tensorBuffer } from "./core/cpu/tensor_pool.ts";

// Predictions
export {
  ACTIVATION_NOTE,
  activationOf,
  type ClassScore,
  classScore,
  classScores,
  type FramePrediction,
  labelsOf,
} from "./core/predictions.ts";

// Errors and outputs
export { type CodedError, CpuFallback, OutputWriteError, StageError } from "./core/errors.ts";
export { Output, type OutputShape } from "./core/output.ts";
export { decodeNpy, encodeNpy, float32Bytes, npyChunks, npyHeader } from "./core/npy.ts";
export type {
  CollectedInput,
  Collection,
  CollectionSummary,
  CollectionWriter,
  RunFile,
} from "./core/collect.ts";
export { readLabels, resolveFromPipeline } from "./core/labels.ts";

// WGSL and GPU kernels
export { embedWgsl, wgslFile, type WgslSource, wgslText } from "./core/wgsl.ts";
export { type GpuBatch, imageLength } from "./core/gpu/batch.ts";
export { destroyAfterSubmit, flushCommands, submitPending } from "./core/gpu/commands.ts";
export {
  GpuDeviceLost,
  type GpuError,
  GpuOutOfMemory,
  type GpuShape,
  WgslCompileError,
} from "./core/gpu/device.ts";
export {
  dispatch,
  type DispatchOptions,
  dispatchSize,
  type GridSize,
  kernelProgram,
  type KernelSource,
  type ProgramInfo,
  readBack,
  storage,
  storageFrom,
  uniformFrom,
} from "./core/gpu/kernels.ts";
export {
  type WgslConstType,
  type WgslScalar,
  type WgslStruct,
  wgslStruct,
  WORKGROUP_SIZE,
} from "./core/gpu/layout.ts";
