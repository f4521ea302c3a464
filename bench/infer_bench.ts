/**
 * Inference throughput per provider (used by bench.ts): the demo model (models/nodule_classifier.onnx,
 * input [N, 1, 64, 64]) on 64 inputs in batches of 8, best of 3, through onnxruntime-node (native CPU),
 * onnxruntime-web's wasm build, and its WebGPU provider on the adapter at hand (zero-copy input buffers).
 */
import { Effect } from "effect";
import type * as OrtWeb from "onnxruntime-web";
import type { GpuShape } from "../core/gpu/device.ts";
import { storageFrom } from "../core/gpu/kernels.ts";
import { loadModel, webgpuSession } from "../plugins/infer/model.ts";

const MODEL = "models/nodule_classifier.onnx";

/** ms per image for each provider that loads (missing providers are reported as such). */
export const inferenceTimes = async (gpu: GpuShape | undefined, images = 64, batch = 8, repeats = 3) => {
  const rows: Array<[string, number | string]> = [];
  const input = new Float32Array(batch * 64 * 64).map((_, i) => Math.sin(i) * 0.5);
  const time = async (run: () => Promise<unknown>) => {
    await run();
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      for (let i = 0; i < images / batch; i++) await run();
      best = Math.min(best, performance.now() - t0);
    }
    return best / images;
  };
  for (const provider of ["native", "wasm"] as const) {
    const loaded = await Effect.runPromise(Effect.result(loadModel(MODEL, provider, undefined)));
    if (loaded._tag === "Failure") {
      rows.push([provider, `unavailable: ${loaded.failure.message}`]);
      continue;
    }
    const m = loaded.success;
    const feed = () =>
      m.session.run({ image: new m.ort.Tensor("float32", input, [batch, 1, 64, 64]) as OrtWeb.Tensor });
    rows.push([
      provider === "native" ? "native (onnxruntime-node, CPU)" : "wasm (onnxruntime-web)",
      await time(feed),
    ]);
  }
  if (gpu) {
    const m = await Effect.runPromise(loadModel(MODEL, "wasm", undefined));
    const { ort, session } = await Effect.runPromise(webgpuSession(m, gpu.device));
    const buffer = await Effect.runPromise(storageFrom(gpu, input, "bench input"));
    const feed = async () => {
      const t = ort.Tensor.fromGpuBuffer(buffer as unknown as OrtWeb.Tensor.GpuBufferType, {
        dataType: "float32",
        dims: [batch, 1, 64, 64],
      });
      const out = await session.run({ image: t });
      await out.logits.getData(true);
    };
    rows.push([`webgpu (onnxruntime-web, ${gpu.adapter}, GPU buffer in)`, await time(feed)]);
  }
  return rows;
};
