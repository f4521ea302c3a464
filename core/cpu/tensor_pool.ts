/**
 * Recycled tensor memory for the CPU path.
 *
 * Every input makes a few large arrays (a resized image, a normalised one); dead, they are collected only
 * when V8 decides - it counts their memory as external and lets tens of megabytes of them pile up per
 * thread before a full collection - so a run's peak memory would grow with its number of inputs. A stage
 * that takes its output arrays from {@link tensorBuffer} gives the runtime the chance to reuse that memory
 * for a later input once the input is finished ({@link recycleTensors}), so memory stays flat.
 *
 * The contract: the array is the data of the image the stage returns; the stage keeps no other reference
 * to it. Its contents are undefined (possibly a previous input's values): write every element.
 *
 * @module
 */

/** Free arrays by length (this thread's). */
const free = new Map<number, Float32Array[]>();
/** Arrays this pool handed out (only those are taken back). */
const pooled = new WeakSet<ArrayBuffer | SharedArrayBuffer>();
/** Free arrays kept per length: enough for a round of inputs through a few stages. */
const KEEP = 16;

/** A Float32Array of `length` for the data of an image a stage returns (see the module's contract). */
export const tensorBuffer = (length: number): Float32Array => {
  const reused = free.get(length)?.pop();
  if (reused) return reused;
  const made = new Float32Array(length);
  pooled.add(made.buffer);
  return made;
};

/** True for memory this thread's pool handed out (it must never be transferred or released elsewhere). */
export const isPooled = (buffer: ArrayBufferLike): boolean => pooled.has(buffer);

/** Gives back the arrays an input's images used, once the input is finished (non-pooled ones are ignored). */
export const recycleTensors = (arrays: Iterable<Float32Array>): void => {
  const seen = new Set<ArrayBuffer | SharedArrayBuffer>();
  for (const a of arrays) {
    // Only whole arrays from the pool, each once (an image and its view may share a buffer).
    if (!pooled.has(a.buffer) || seen.has(a.buffer) || a.byteOffset !== 0) continue;
    if (a.byteLength !== a.buffer.byteLength) continue;
    seen.add(a.buffer);
    const list = free.get(a.length) ?? [];
    if (list.length < KEEP) list.push(a);
    free.set(a.length, list);
  }
};
