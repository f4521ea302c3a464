/**
 * The device's pending commands: `dispatch(..., { defer: true })` records its compute pass into one command
 * encoder per device instead of submitting it, so a batch's kernels go to the GPU as one submission (a
 * submission waits for the one before it on some drivers, llvmpipe among them: one per batch leaves this
 * thread free while the GPU works). The commands are submitted by {@link submitPending}: by `readBack` and
 * any dispatch without `defer`, before a write into a buffer the commands may use ({@link writeBuffer}),
 * before the executor hands the device to a stage that uses its queue itself, and when the pool destroys
 * buffers.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { type GpuShape, WgslCompileError } from "./device.ts";

/** Commands recorded and not submitted yet, and buffers to destroy once they are. */
interface Recording {
  readonly encoder: GPUCommandEncoder;
  readonly trash: GPUBuffer[];
}

const recordings = new WeakMap<GPUDevice, Recording>();

/** The encoder that kernels of this device record into (created on first use after a submission). */
export const recorder = (gpu: GpuShape): GPUCommandEncoder => {
  let r = recordings.get(gpu.device);
  if (!r) {
    r = { encoder: gpu.device.createCommandEncoder({ label: "dcmflow kernels" }), trash: [] };
    recordings.set(gpu.device, r);
  }
  return r.encoder;
};

/** True when commands wait to be submitted. */
export const hasPending = (gpu: GpuShape): boolean => recordings.has(gpu.device);

/**
 * Submits the commands recorded on this device (nothing when there are none). A stage that uses the
 * device's queue itself (its own submissions or writes, another library on the same device) calls it
 * first, so that its work runs after the kernels recorded before it.
 */
export const submitPending = (gpu: GpuShape): void => {
  const r = recordings.get(gpu.device);
  if (!r) return;
  recordings.delete(gpu.device);
  gpu.device.queue.submit([r.encoder.finish()]);
  for (const b of r.trash) b.destroy();
};

/** {@link submitPending}, failing with the device's message when it refuses the recorded commands. */
export const flushCommands: (gpu: GpuShape) => Effect.Effect<void, WgslCompileError> = Effect.fnUntraced(
  function* (gpu: GpuShape) {
    if (!hasPending(gpu)) return;
    gpu.device.pushErrorScope("validation");
    submitPending(gpu);
    const err = yield* Effect.promise(() => gpu.device.popErrorScope());
    if (err) {
      return yield* new WgslCompileError({
        code: "WGSL_COMPILE",
        message: `recorded kernels were refused by the device: ${err.message.split("\n")[0]}`,
      });
    }
  },
);

/** Destroys `buffer` once the commands recorded so far are submitted (now, when there are none). */
export const destroyAfterSubmit = (gpu: GpuShape, buffer: GPUBuffer): void => {
  const r = recordings.get(gpu.device);
  if (r) r.trash.push(buffer);
  else buffer.destroy();
};

/**
 * Writes `data` into `buffer` at byte `offset` after the recorded commands (a queue write runs before
 * any command submitted after it, so the pending ones are submitted first). `data.byteLength` must be a
 * multiple of 4.
 */
export const writeBuffer = (
  gpu: GpuShape,
  buffer: GPUBuffer,
  offset: number,
  data: ArrayBufferView,
): void => {
  submitPending(gpu);
  gpu.device.queue.writeBuffer(buffer, offset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
};
