/**
 * Byte helpers.
 *
 * @module
 */

/** The parts as one array: the part itself when there is only one (a view, not a copy), else a new array. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/** Whether typed arrays store the least significant byte first (x86, ARM: the hosts seen), read once. */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** ES2024's ArrayBuffer transfer (Deno, Bun, Node 21+; absent on Node 20, where memory is left to the GC). */
type Transferable2024 = ArrayBufferLike & {
  readonly detached?: boolean;
  transfer?(length: number): ArrayBuffer;
};

/**
 * Frees `buffer` now rather than at V8's next full collection, which lets tens of megabytes of dead buffers
 * pile up per thread (every view of it reads as empty afterwards). For memory that one owner holds alone (a
 * codec's output once copied, a row once written); a no-op where the runtime has no `transfer`.
 */
export const freeBuffer = (buffer: ArrayBufferLike): void => void (buffer as Transferable2024).transfer?.(0);

/** Whether `buffer` was freed or moved away already. */
export const isDetached = (buffer: ArrayBufferLike): boolean =>
  (buffer as Transferable2024).detached === true;
