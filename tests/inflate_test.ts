/**
 * The bounded inflater (dicom/inflate.ts) against zlib: the same bytes for every kind of match (short,
 * long, overlapping with every distance, far), at every compression level; and the budget, asked every
 * chunk, stops the output at its limit without a buffer past it.
 */
import assert from "node:assert/strict";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { INFLATE_CHUNK, Inflater, InflateStop } from "../dicom/inflate.ts";

/** Pseudo-random bytes (deterministic), with runs that repeat the last `period` bytes for every period. */
function matchy(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) >>> 0) >>> 8;
  let pos = 0;
  while (pos < size) {
    const kind = next() % 4;
    const n = Math.min(size - pos, 1 + (next() % 600));
    if (kind === 0 || pos === 0) {
      for (let i = 0; i < n; i++) out[pos + i] = next() & 0xff; // literals
    } else {
      const period = 1 + (next() % Math.min(pos, kind === 1 ? 4 : kind === 2 ? 300 : 40_000));
      for (let i = 0; i < n; i++) out[pos + i] = out[pos + i - period];
    }
    pos += n;
  }
  return out;
}

const unlimited = () => ({ limit: Number.MAX_SAFE_INTEGER });

Deno.test("the inflater gives zlib's bytes for every kind of match, at every level", () => {
  for (const [size, seed] of [[0, 1], [1, 2], [300, 3], [70_000, 4], [1 << 20, 5]]) {
    const data = matchy(size, seed);
    for (const level of [0, 1, 6, 9]) {
      const deflated = deflateRawSync(data, { level });
      const ours = new Inflater(deflated, 0, unlimited).run();
      assert.deepEqual(ours, new Uint8Array(inflateRawSync(deflated)), `${size} bytes, level ${level}`);
      assert.deepEqual(ours, data);
    }
  }
  const zeros = new Uint8Array(3 << 20);
  assert.deepEqual(new Inflater(deflateRawSync(zeros), 0, unlimited).run(), zeros);
});

Deno.test("the budget is asked every chunk and stops the output at its limit, with no buffer past it", () => {
  const deflated = deflateRawSync(new Uint8Array(64 << 20)); // 64 MiB of zeros in 64 KB
  for (const limit of [1000, INFLATE_CHUNK + 1, 3 << 20]) {
    let asked = 0;
    const inflater = new Inflater(deflated, 0, () => (asked++, { limit }));
    assert.throws(() => inflater.run(), (e: unknown) => e instanceof InflateStop && e.reason === "limit");
    assert.ok(inflater.produced <= limit, `${inflater.produced} bytes past the limit ${limit}`);
    assert.ok(inflater.produced > limit - 300, `stopped at ${inflater.produced} of ${limit}`);
    assert.ok(inflater.capacity <= limit, `a buffer of ${inflater.capacity} bytes for ${limit}`);
    assert.ok(inflater.allocated <= 3 * limit, `${inflater.allocated} bytes of buffers for ${limit}`);
    assert.ok(asked >= Math.floor(limit / INFLATE_CHUNK), `asked ${asked} times for ${limit} bytes`);
  }
  // A budget that grows with what was read (a ratio) is asked with the compressed bytes read so far.
  const seen: number[] = [];
  const inflater = new Inflater(deflated, 0, (_out, consumed) => {
    seen.push(consumed);
    return { limit: Math.max(1 << 20, 10 * consumed) };
  });
  assert.throws(() => inflater.run(), InflateStop);
  assert.ok(inflater.produced <= 1 << 20);
  assert.ok(seen.every((c, i) => i === 0 || c >= seen[i - 1]) && seen.at(-1)! > 0 && seen.at(-1)! < 2000);
});
