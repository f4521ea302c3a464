/**
 * Raw stored words -> stored values on the CPU: the twin of shaders/unpack.wgsl, for the fused CPU path.
 *
 * A {@link RawPixels} holds the Pixel Data bytes as they are in the file (BitsAllocated 8, 16 or 32, either
 * byte order, samples interleaved or planar). Unpacking shifts right by HighBit + 1 - BitsStored, masks to
 * BitsStored bits and sign-extends when PixelRepresentation is 1, so garbage in the unused high bits never
 * survives - exactly as the DICOM decoder does.
 *
 * Two forms: {@link lookUp} maps every stored value through a table over the whole stored range (the fused
 * chain of elementwise stages, BitsStored <= 16), and {@link storedValues} gives the values themselves as
 * float32.
 *
 * @module
 */
import { type RawPixels, rawWords, unpackRaw } from "../../dicom/mod.ts";
import { tensorBuffer } from "./tensor_pool.ts";

/** The range of stored values: the first value and how many there are (2^BitsStored). */
export const storedRange = (raw: RawPixels): { readonly min: number; readonly size: number } => {
  const size = 2 ** raw.bitsStored;
  return { min: raw.signed ? -(size / 2) : 0, size };
};

/** Where output sample `o` (planar [frames, samples, rows, cols]) is among the stored words. */
const sourceOrder = (raw: RawPixels, samples: number, plane: number) => {
  if (samples === 1 || raw.planar === 1) return undefined; // same order
  return (o: number): number => {
    const frameSize = samples * plane;
    const f = Math.floor(o / frameSize);
    const r = o - f * frameSize;
    const c = Math.floor(r / plane);
    const px = r - c * plane;
    return f * frameSize + px * samples + c;
  };
};

/**
 * Looks every stored value up in a table over {@link storedRange} (BitsStored <= 16): output channel `c`
 * of `[frames, channelsOut, plane]` reads sample `c` (or sample 0 when the image has one sample and the
 * tables widen it) through `tables[c]`. Writes into `into` when it is large enough.
 */
export const lookUp = (
  raw: RawPixels,
  shape: readonly [frames: number, samples: number, plane: number],
  tables: ReadonlyArray<Float32Array>,
  into?: Float32Array,
): Float32Array => {
  if (raw.bitsStored > 16) throw new RangeError("lookUp: BitsStored > 16 needs storedValues");
  const [frames, samples, plane] = shape;
  const w = rawWords(raw, frames * samples * plane);
  const shift = raw.shift;
  const mask = 2 ** raw.bitsStored - 1;
  // Signed values map to indices by flipping the sign bit: -2^(b-1) -> 0, 0 -> 2^(b-1).
  const flip = raw.signed ? 2 ** (raw.bitsStored - 1) : 0;
  const channelsOut = tables.length;
  const length = frames * channelsOut * plane;
  const out = into && into.length >= length ? into.subarray(0, length) : tensorBuffer(length);
  if (samples === 1 && channelsOut === 1) {
    // One loop per word type, so each stays monomorphic (the hot loop of the fused CPU path).
    if (w instanceof Uint16Array) lookUp16(w, out, tables[0], shift, mask, flip);
    else if (w instanceof Uint8Array) lookUp8(w, out, tables[0], shift, mask, flip);
    else lookUp32(w, out, tables[0], shift, mask, flip);
    return out;
  }
  const order = sourceOrder(raw, samples, plane);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channelsOut; c++) {
      const t = tables[c];
      const src = (f * samples + (samples === 1 ? 0 : c)) * plane;
      const dst = (f * channelsOut + c) * plane;
      for (let i = 0; i < plane; i++) {
        const k = order ? order(src + i) : src + i;
        out[dst + i] = t[((w[k] >>> shift) & mask) ^ flip];
      }
    }
  }
  return out;
};

function lookUp16(
  w: Uint16Array,
  out: Float32Array,
  t: Float32Array,
  shift: number,
  mask: number,
  flip: number,
) {
  for (let o = 0; o < out.length; o++) out[o] = t[((w[o] >>> shift) & mask) ^ flip];
}

function lookUp8(
  w: Uint8Array,
  out: Float32Array,
  t: Float32Array,
  shift: number,
  mask: number,
  flip: number,
) {
  for (let o = 0; o < out.length; o++) out[o] = t[((w[o] >>> shift) & mask) ^ flip];
}

function lookUp32(
  w: Uint32Array,
  out: Float32Array,
  t: Float32Array,
  shift: number,
  mask: number,
  flip: number,
) {
  for (let o = 0; o < out.length; o++) out[o] = t[((w[o] >>> shift) & mask) ^ flip];
}

/** The stored values themselves, float32, planar `[frames, samples, rows, cols]` (the decoder's unpacker). */
export const storedValues = (
  raw: RawPixels,
  shape: readonly [frames: number, samples: number, plane: number],
): Float32Array => unpackRaw(raw, shape, tensorBuffer(shape[0] * shape[1] * shape[2]));
