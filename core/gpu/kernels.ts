/**
 * Compiling and dispatching compute kernels.
 *
 * Modelled on onnxruntime-web's WebGPU `ProgramInfo`: a program has a cache key that describes its *code*
 * (kernel shape, stage chain, load mode) and never its per-run values, which travel in buffers. Compiled
 * pipelines are cached per device by that key, so a run compiles each distinct kernel once.
 *
 * Workgroup size: 256 invocations, one per output value. That is a multiple of every vendor's SIMD width
 * (32 on NVIDIA/Apple, 64 on AMD, 8 on llvmpipe's 256-bit lanes), large enough to hide memory latency on
 * these memory-bound kernels, and the WebGPU default limit (maxComputeInvocationsPerWorkgroup = 256).
 * Large batches dispatch in 2D (x up to maxComputeWorkgroupsPerDimension), each kernel computing its linear
 * index as `gid.x + gid.y * row_pitch`.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { GpuDeviceLost, GpuOutOfMemory, type GpuShape, WgslCompileError } from "./device.ts";

/** Invocations per workgroup of every dcmflow kernel (WGSL: `@workgroup_size(256)`). */
export const WORKGROUP_SIZE = 256;

/** Where a line of generated WGSL came from, to report compile errors at the author's file and line. */
export interface SourceSpan {
  /** First line (1-based) of the span in the generated module. */
  readonly start: number;
  readonly lines: number;
  /** e.g. `shaders/window.wgsl` or `plugin "gamma-example" (./gamma.wgsl)`. */
  readonly source: string;
}

/** A compute program: code + cache key. */
export interface ProgramInfo {
  /** Human name, for messages. */
  readonly name: string;
  /** Identifies the code; equal keys must mean equal WGSL. Per-run values never enter it. */
  readonly cacheKey: string;
  readonly code: string;
  readonly entry: string;
  readonly spans?: ReadonlyArray<SourceSpan>;
}

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
let compiled = 0;

/** How many pipelines were compiled in this process (for tests and benchmarks). */
export const compiledPipelines = (): number => compiled;

/** Renders a compiler message at its author's file and line. */
const locateMessage = (program: ProgramInfo, m: GPUCompilationMessage): string => {
  // Drivers wrap the message in their own framing (naga: "Shader '' parsing error: ...", then a source
  // excerpt); keep the first meaningful line only.
  const first = m.message.split("\n").map((l) => l.trim()).find((l) => l.length > 0) ?? "";
  const text = first.replace(/^Shader '[^']*' \w+ error:\s*/, "").replace(/^error:\s*/, "");
  const span = program.spans?.find((s) => m.lineNum >= s.start && m.lineNum < s.start + s.lines);
  const where = span
    ? `${span.source}:${m.lineNum - span.start + 1}:${m.linePos}`
    : `generated kernel "${program.name}" line ${m.lineNum}:${m.linePos}`;
  return `${where}: ${text}`;
};

/** Compiles (or fetches from the cache) the pipeline of `program`. */
export const pipelineFor = (
  gpu: GpuShape,
  program: ProgramInfo,
): Effect.Effect<GPUComputePipeline, WgslCompileError> =>
  Effect.gen(function* () {
    let cache = pipelines.get(gpu.device);
    if (!cache) pipelines.set(gpu.device, cache = new Map());
    const hit = cache.get(program.cacheKey);
    if (hit) return hit;
    const module = gpu.device.createShaderModule({ code: program.code, label: program.name });
    const info = yield* Effect.promise(() => module.getCompilationInfo());
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      return yield* new WgslCompileError({
        code: "WGSL_COMPILE",
        message: `WGSL of ${program.name} does not compile: ${
          errors.map((m) => locateMessage(program, m)).join("; ")
        }`,
      });
    }
    gpu.device.pushErrorScope("validation");
    const pipeline = gpu.device.createComputePipeline({
      label: program.name,
      layout: "auto",
      compute: { module, entryPoint: program.entry },
    });
    const err = yield* Effect.promise(() => gpu.device.popErrorScope());
    if (err) {
      return yield* new WgslCompileError({
        code: "WGSL_COMPILE",
        message: `kernel ${program.name} is invalid: ${err.message.split("\n")[0]}`,
      });
    }
    compiled++;
    cache.set(program.cacheKey, pipeline);
    return pipeline;
  });

/** Fails with {@link GpuDeviceLost} when the device is gone. */
export const checkAlive = (gpu: GpuShape): Effect.Effect<void, GpuDeviceLost> => {
  const lost = gpu.lost();
  return lost === undefined
    ? Effect.void
    : Effect.fail(new GpuDeviceLost({ code: "GPU_DEVICE_LOST", message: lost }));
};

/** Creates a buffer, turning an out-of-memory condition into {@link GpuOutOfMemory}. */
export const createBuffer = (
  gpu: GpuShape,
  size: number,
  usage: GPUBufferUsageFlags,
  label: string,
): Effect.Effect<GPUBuffer, GpuOutOfMemory | GpuDeviceLost> =>
  Effect.gen(function* () {
    yield* checkAlive(gpu);
    const bytes = Math.max(16, Math.ceil(size / 16) * 16);
    if (bytes > gpu.limits.maxBufferSize) {
      return yield* new GpuOutOfMemory({
        code: "GPU_OUT_OF_MEMORY",
        message: `${label}: ${bytes} bytes exceed the device's maxBufferSize (${gpu.limits.maxBufferSize})`,
      });
    }
    gpu.device.pushErrorScope("out-of-memory");
    const buffer = gpu.device.createBuffer({ size: bytes, usage, label });
    const err = yield* Effect.promise(() => gpu.device.popErrorScope());
    if (err) {
      buffer.destroy();
      return yield* new GpuOutOfMemory({ code: "GPU_OUT_OF_MEMORY", message: `${label}: ${err.message}` });
    }
    return buffer;
  });

/** Storage buffer with initial contents. */
export const storageFrom = (gpu: GpuShape, data: ArrayBufferView, label: string) =>
  Effect.tap(
    createBuffer(
      gpu,
      data.byteLength,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
      label,
    ),
    (b) =>
      Effect.sync(() =>
        gpu.device.queue.writeBuffer(b, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength)
      ),
  );

/** An empty storage buffer for kernel output. */
export const storage = (gpu: GpuShape, bytes: number, label: string) =>
  createBuffer(gpu, bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, label);

/** A uniform buffer holding `words` (u32). */
export const uniformFrom = (gpu: GpuShape, words: Uint32Array, label: string) =>
  Effect.tap(
    createBuffer(gpu, words.byteLength, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label),
    (b) =>
      Effect.sync(() =>
        gpu.device.queue.writeBuffer(b, 0, words.buffer as ArrayBuffer, words.byteOffset, words.byteLength)
      ),
  );

/** Workgroup counts (2D when needed) and the row pitch kernels use to linearise their index. */
export const dispatchSize = (gpu: GpuShape, invocations: number) => {
  const groups = Math.max(1, Math.ceil(invocations / WORKGROUP_SIZE));
  const maxX = gpu.limits.maxComputeWorkgroupsPerDimension;
  const x = Math.min(groups, maxX);
  const y = Math.ceil(groups / x);
  return { x, y, rowPitch: x * WORKGROUP_SIZE };
};

/** Runs one compute pass: `buffers[i]` is bound at binding i of group 0. */
export const dispatch = (
  gpu: GpuShape,
  program: ProgramInfo,
  buffers: ReadonlyArray<GPUBuffer>,
  size: { readonly x: number; readonly y: number },
): Effect.Effect<void, WgslCompileError | GpuDeviceLost> =>
  Effect.gen(function* () {
    yield* checkAlive(gpu);
    const pipeline = yield* pipelineFor(gpu, program);
    gpu.device.pushErrorScope("validation");
    const bindGroup = gpu.device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = gpu.device.createCommandEncoder({ label: program.name });
    const pass = encoder.beginComputePass({ label: program.name });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(size.x, size.y);
    pass.end();
    gpu.device.queue.submit([encoder.finish()]);
    const err = yield* Effect.promise(() => gpu.device.popErrorScope());
    if (err) {
      return yield* new WgslCompileError({
        code: "WGSL_COMPILE",
        message: `kernel ${program.name} was refused by the device: ${err.message.split("\n")[0]}`,
      });
    }
  });

/** Copies `bytes` bytes of a storage buffer back to the CPU. */
export const readBack = (
  gpu: GpuShape,
  buffer: GPUBuffer,
  bytes: number,
): Effect.Effect<Float32Array, GpuDeviceLost | GpuOutOfMemory> =>
  Effect.gen(function* () {
    const size = Math.ceil(bytes / 4) * 4;
    const staging = yield* createBuffer(
      gpu,
      size,
      GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      "readback",
    );
    const encoder = gpu.device.createCommandEncoder({ label: "readback" });
    encoder.copyBufferToBuffer(buffer, 0, staging, 0, size);
    gpu.device.queue.submit([encoder.finish()]);
    yield* Effect.tryPromise({
      try: () => staging.mapAsync(GPUMapMode.READ),
      catch: () =>
        new GpuDeviceLost({
          code: "GPU_DEVICE_LOST",
          message: gpu.lost() ?? "mapping a readback buffer failed",
        }),
    });
    const out = new Float32Array(staging.getMappedRange(0, size).slice(0, bytes));
    staging.unmap();
    staging.destroy();
    return out;
  });
