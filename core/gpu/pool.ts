/**
 * A pool of GPU buffers reused across images and batches.
 *
 * Sizes are rounded up to a power of two (at least 64 KiB), so consecutive batches of similar images reuse
 * the same allocations instead of creating and destroying buffers per image.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type { GpuDeviceLost, GpuOutOfMemory, GpuShape } from "./device.ts";
import { submitPending } from "./commands.ts";
import { createBuffer } from "./kernels.ts";

const MIN_BYTES = 64 * 1024;

/** Usage of every pooled storage buffer (kernel input/output, copy source for readback, upload target). */
const pooledUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** Rounds a request up to its size class. */
export const sizeClass = (bytes: number): number => {
  let size = MIN_BYTES;
  while (size < bytes) size *= 2;
  return size;
};

/** A per-device pool of storage buffers. */
export class BufferPool {
  readonly #free = new Map<number, GPUBuffer[]>();
  #created = 0;
  #reused = 0;

  constructor(readonly gpu: GpuShape) {}

  /** A storage buffer of at least `bytes` bytes (contents undefined). */
  acquire(bytes: number, label: string): Effect.Effect<GPUBuffer, GpuOutOfMemory | GpuDeviceLost> {
    const size = sizeClass(bytes);
    const hit = this.#free.get(size)?.pop();
    if (hit) {
      this.#reused++;
      return Effect.succeed(hit);
    }
    this.#created++;
    // Sizes above the device's limit are refused by createBuffer as out of memory, and the batch is split.
    return createBuffer(
      this.gpu,
      Math.min(size, Math.max(bytes, this.gpu.limits.maxBufferSize)),
      pooledUsage(),
      label,
    );
  }

  /** Returns a buffer for reuse. */
  release(buffer: GPUBuffer): void {
    const list = this.#free.get(buffer.size) ?? [];
    list.push(buffer);
    this.#free.set(buffer.size, list);
  }

  /** Destroys every free buffer (after submitting the recorded commands, which may use them). */
  clear(): void {
    submitPending(this.gpu);
    for (const list of this.#free.values()) for (const b of list) b.destroy();
    this.#free.clear();
  }

  /** Buffers created and reused so far. */
  stats(): { readonly created: number; readonly reused: number } {
    return { created: this.#created, reused: this.#reused };
  }
}
