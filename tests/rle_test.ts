/**
 * The RLE decoder (dicom/codecs/rle.ts), which unpacks each segment straight into its byte of every sample,
 * against the form it replaced (tests/support/rle_reference.ts: a plane of bytes per segment, then ORed into
 * the samples): the same samples, or the same error code and text, on frames made here by a PackBits
 * encoder - 8, 16 and 32 bits, 1 to 3 samples, literal and repeat runs of every length - and on those frames
 * cut short, with bytes changed, or with wrong segment offsets. The fixtures are checked against dcmdrle
 * in tests/decode_codecs_test.ts.
 */
import assert from "node:assert/strict";
import { decodeRle } from "../dicom/codecs/rle.ts";
import type { FrameRequest } from "../dicom/codecs/types.ts";
import { packBits, rleFrame } from "./support/rle_encode.ts";
import { referenceDecodeRle } from "./support/rle_reference.ts";

/** A small seeded generator (mulberry32). */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** An RLE frame (PS3.5 G.3) of random samples with runs: the 64-byte header, then a segment per byte. */
function frame(next: () => number, request: FrameRequest): Uint8Array {
  const plane = request.rows * request.cols;
  const segments: Uint8Array[] = [];
  for (let s = 0; s < request.samples * (request.bitsAllocated / 8); s++) {
    const bytes = new Uint8Array(plane);
    for (let i = 0; i < plane;) {
      const len = 1 + Math.floor(next() * (next() < 0.2 ? 200 : 6));
      bytes.fill(Math.floor(next() * 256), i, Math.min(plane, i + len));
      i += len;
    }
    const coded = packBits(bytes);
    segments.push(next() < 0.1 ? Uint8Array.from([...coded, 128]) : coded); // a no-op header, which decoders skip
  }
  return rleFrame(segments);
}

/** What a decoder gives: its samples' bytes, or its error's code and text. */
function outcome(decode: () => { samples: ArrayLike<number> & { buffer: ArrayBufferLike } }): string {
  try {
    const { samples } = decode();
    return `ok ${Array.from(new Uint8Array(samples.buffer)).join(",")}`;
  } catch (e) {
    const coded = e as { code?: string; message: string };
    return `error ${coded.code}: ${coded.message}`;
  }
}

Deno.test("RLE: equal to the reference decoder on 1,200 valid and corrupt frames", () => {
  const next = random(2026);
  let decoded = 0;
  for (let n = 0; n < 1_200; n++) {
    const request: FrameRequest = {
      rows: 1 + Math.floor(next() * 40),
      cols: 1 + Math.floor(next() * 40),
      samples: [1, 1, 3, 2][n % 4],
      bitsAllocated: [8, 16, 32][n % 3],
      bitsStored: 8,
      signed: false,
      photometric: "MONOCHROME2",
      frame: 1 + (n % 5),
    };
    const data = frame(next, request);
    const damage = n % 6; // 0-2: valid; 3: cut short; 4: bytes changed; 5: an offset changed
    if (damage === 4) {
      for (let k = 0; k < 4; k++) data[64 + Math.floor(next() * (data.length - 64))] ^= 0xa5;
    }
    if (damage === 5) data[4 + 4 * Math.floor(next() * 3)] ^= 1 << Math.floor(next() * 12);
    const input = damage === 3 ? data.subarray(0, Math.floor(next() * data.length)) : data;
    const fast = outcome(() => decodeRle(input, request));
    assert.equal(fast, outcome(() => referenceDecodeRle(input, request)), `frame ${n}, damage ${damage}`);
    if (damage < 3) assert.ok(fast.startsWith("ok"), `frame ${n}: ${fast.slice(0, 200)}`);
    if (fast.startsWith("ok")) decoded++;
  }
  assert.ok(decoded >= 600 && decoded < 1_200, `${decoded} frames decoded`);
});
