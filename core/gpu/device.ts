/**
 * The GPU device as an Effect service.
 *
 * {@link GpuLive} finds an adapter (Deno's built-in `navigator.gpu`; under Bun/Node the `webgpu` npm package,
 * Dawn, when it is installed and finds one), requests a device with the adapter's own limits, and destroys
 * it when the scope closes. Device loss is watched: every later GPU call fails with {@link GpuDeviceLost}.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Data from "effect/Data";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { env, osName, setEnv } from "../platform.ts";

/** No usable WebGPU adapter or device. */
export class GpuUnavailable extends Data.TaggedError("GpuUnavailable")<{
  readonly code: "GPU_UNAVAILABLE";
  readonly message: string;
}> {}

/** The device was lost (driver reset, `destroy()`, ...). */
export class GpuDeviceLost extends Data.TaggedError("GpuDeviceLost")<{
  readonly code: "GPU_DEVICE_LOST";
  readonly message: string;
}> {}

/** An allocation did not fit in GPU memory even after splitting the batch down to one image. */
export class GpuOutOfMemory extends Data.TaggedError("GpuOutOfMemory")<{
  readonly code: "GPU_OUT_OF_MEMORY";
  readonly message: string;
}> {}

/** A WGSL module failed to compile; `message` names the kernel (and plugin) and the WGSL line. */
export class WgslCompileError extends Data.TaggedError("WgslCompileError")<{
  readonly code: "WGSL_COMPILE";
  readonly message: string;
}> {}

/** Any GPU failure. */
export type GpuError = GpuUnavailable | GpuDeviceLost | GpuOutOfMemory | WgslCompileError;

/** What the runtime knows about the device it holds. */
export interface GpuShape {
  readonly device: GPUDevice;
  /** e.g. "llvmpipe (LLVM 15.0.6, 256 bits)" or "NVIDIA H100 (vulkan)". */
  readonly adapter: string;
  /** True for software rasterisers (llvmpipe, SwiftShader, WARP): slower than the CPU path here. */
  readonly software: boolean;
  readonly limits: GPUSupportedLimits;
  /** Resolves (with a message) if the device is lost; `undefined` while it is alive. */
  readonly lost: () => string | undefined;
}

/** Service key for the GPU device. */
export class Gpu extends Context.Service<Gpu, GpuShape>()("dcmflow/Gpu") {}

/**
 * Mesa's Vulkan window-system layer prints "XDG_RUNTIME_DIR is invalid or not set" to stderr when that
 * variable is missing (CI shells, containers); compute needs no window system, so point it at a private
 * temporary folder instead of letting the warning alarm users.
 */
const quietDriverWarnings = () => {
  if (env("XDG_RUNTIME_DIR") !== undefined) return;
  const dir = join(tmpdir(), "dcmflow-runtime");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  setEnv("XDG_RUNTIME_DIR", dir);
};

/** `navigator.gpu` of this runtime, or of the `webgpu` npm package (Dawn) under Bun/Node. */
const findGpu = async (): Promise<GPU | undefined> => {
  quietDriverWarnings();
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  try {
    const specifier = "webgpu"; // optional dependency: not bundled, looked up at run time
    const mod = await import(specifier) as { create: (flags: string[]) => GPU; globals: object };
    Object.assign(globalThis, mod.globals);
    return mod.create([]);
  } catch {
    return undefined;
  }
};

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|softpipe|microsoft basic render|warp/i;

/** Describes an adapter for ledgers and messages. */
export const describeAdapter = (info: GPUAdapterInfo): string =>
  [info.description, info.vendor && !/^\d+$/.test(info.vendor) ? info.vendor : "", info.architecture]
    .filter((s) => s && s.length > 0).join(" ") || "unknown adapter";

/** The adapter this runtime offers, or an error saying why there is none. */
const findAdapter = async (): Promise<GPUAdapter> => {
  const gpu = await findGpu();
  if (!gpu) {
    throw new Error("this runtime has no WebGPU (navigator.gpu) and the `webgpu` package is not installed");
  }
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) {
    throw new Error(
      "no WebGPU adapter found (on Linux, install Mesa's Vulkan drivers: apt-get install mesa-vulkan-drivers)",
    );
  }
  return adapter;
};

/**
 * On Linux every hardware GPU a WebGPU implementation can drive is reached through a device node: a DRM render
 * node (`/dev/dri/renderD*`: AMD, Intel, NVIDIA's DRM driver, virtio-gpu, Apple silicon), NVIDIA's
 * `/dev/nvidia0`..., AMD's compute node `/dev/kfd` or WSL's `/dev/dxg`. Without any of them the only adapter
 * there can be is a software rasteriser, which `device: auto` would turn down anyway: asking for it costs
 * ~0.3 s (Vulkan loads llvmpipe) on every run. Returns why there is no hardware GPU, or `undefined` when
 * there may be one (or on other systems, where only asking the adapter tells).
 */
export const noGpuDeviceNode = (root = "/dev"): string | undefined => {
  if (osName() !== "linux") return undefined;
  const list = (dir: string) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  };
  if (list(join(root, "dri")).some((n) => n.startsWith("renderD"))) return undefined;
  if (list(root).some((n) => /^nvidia\d+$/.test(n))) return undefined;
  if (existsSync(join(root, "kfd")) || existsSync(join(root, "dxg"))) return undefined;
  return `no GPU device on this machine (no ${root}/dri/renderD*, ${root}/nvidia*, ${root}/kfd or ${root}/dxg)`;
};

/** Whether an adapter is a software rasteriser (llvmpipe, SwiftShader, WARP...). */
const isSoftware = (adapter: GPUAdapter): boolean =>
  (adapter.info as { isFallbackAdapter?: boolean }).isFallbackAdapter === true ||
  SOFTWARE.test(describeAdapter(adapter.info));

/**
 * The adapter's name and whether it is a software rasteriser, without creating a device (what `device:
 * auto` needs to decide; a device costs time and tens of megabytes more).
 */
export const probeAdapter: Effect.Effect<
  { readonly adapter: string; readonly software: boolean },
  GpuUnavailable
> = Effect.tryPromise({
  try: async () => {
    const adapter = await findAdapter();
    return { adapter: describeAdapter(adapter.info), software: isSoftware(adapter) };
  },
  catch: (e) =>
    new GpuUnavailable({ code: "GPU_UNAVAILABLE", message: e instanceof Error ? e.message : String(e) }),
});

/** Requests an adapter and a device with the adapter's limits. */
export const acquireGpu: Effect.Effect<GpuShape, GpuUnavailable> = Effect.tryPromise({
  try: async () => {
    const adapter = await findAdapter();
    const { limits } = adapter;
    const device = await adapter.requestDevice({
      requiredLimits: {
        maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
        maxBufferSize: limits.maxBufferSize,
        maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
        maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      },
    });
    let lostMessage: string | undefined;
    device.lost.then((info) => {
      lostMessage = `GPU device lost (${info.reason}): ${info.message || "no details"}`;
    });
    return {
      device,
      adapter: describeAdapter(adapter.info),
      software: isSoftware(adapter),
      limits: device.limits,
      lost: () => lostMessage,
    } satisfies GpuShape;
  },
  catch: (e) =>
    new GpuUnavailable({ code: "GPU_UNAVAILABLE", message: e instanceof Error ? e.message : String(e) }),
});

/** A Layer holding one GPU device for the scope of a run; the device is destroyed at the end. */
export const GpuLive: Layer.Layer<Gpu, GpuUnavailable> = Layer.effect(
  Gpu,
  Effect.acquireRelease(acquireGpu, (g) => Effect.sync(() => g.device.destroy())),
);
