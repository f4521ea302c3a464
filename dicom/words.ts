/**
 * Native pixel data words -> stored values: the one unpacker of the DICOM reader, used by the decoder and
 * by callers that hold a {@link RawPixels} (dcmflow's fused CPU path).
 *
 * - Words: the container's 8, 16 or 32-bit samples in host order. Big-endian files have their OW words
 *   byte-swapped; 8-bit samples of big-endian OW data are read pairwise, and 32-bit samples swap bytes
 *   within each 16-bit half, as DCMTK and GDCM read explicit VR big endian.
 * - Values: `word >>> (HighBit + 1 - BitsStored)`, BitsStored bits kept, sign-extended from bit
 *   BitsStored - 1 when PixelRepresentation is 1; interleaved samples (PlanarConfiguration 0) come out
 *   planar, `[frames, samples, rows, cols]`.
 *
 * @module
 */
import { HOST_LITTLE_ENDIAN } from "./bytes.ts";
import type { RawPixels } from "./meta.ts";

/** Container words of any width. */
export type Words = Uint8Array | Uint16Array | Uint32Array;

/** Big-endian hosts (rare): read each container word with a DataView. */
function readWordsPortable(bytes: Uint8Array, count: number, bytesPerSample: number, bigEndian: boolean) {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytesPerSample === 2) {
    const out = new Uint16Array(count);
    for (let i = 0; i < count; i++) out[i] = v.getUint16(2 * i, !bigEndian);
    return out;
  }
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    // OW words in file byte order, low word first (see swapWords).
    out[i] = (v.getUint16(4 * i, !bigEndian) | (v.getUint16(4 * i + 2, !bigEndian) << 16)) >>> 0;
  }
  return out;
}

/** Little-endian host, big-endian file: byte-swap every 16-bit OW word. */
function swapWords(words: Uint16Array | Uint32Array, bytesPerSample: number): Uint16Array | Uint32Array {
  const n = words.length;
  if (bytesPerSample === 2) {
    const out = new Uint16Array(n);
    for (let i = 0; i < n; i++) {
      const w = words[i];
      out[i] = ((w & 0xff) << 8) | (w >>> 8);
    }
    return out;
  }
  // 32-bit samples in OW Pixel Data: each 16-bit word is byte-swapped, the word order stays
  // (low word first), as DCMTK and GDCM read explicit VR big endian.
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const w = words[i];
    out[i] = (((w & 0x00ff00ff) << 8) | ((w >>> 8) & 0x00ff00ff)) >>> 0;
  }
  return out;
}

/**
 * The first `count` container words of raw pixel data, in host order (a view of `raw.bytes` when no
 * swapping or realignment is needed).
 */
export function rawWords(raw: Pick<RawPixels, "bytes" | "bitsAllocated" | "byteSwap">, count: number): Words {
  const { bytes, byteSwap } = raw;
  const bytesPerSample = raw.bitsAllocated / 8;
  if (bytesPerSample === 1) {
    if (!byteSwap) return bytes.subarray(0, count);
    // 8-bit samples in 16-bit OW words, big endian: the two bytes of every word are swapped.
    const swapped = new Uint8Array(count);
    for (let i = 0; i < count; i++) swapped[i] = bytes[i ^ 1];
    return swapped;
  }
  if (!HOST_LITTLE_ENDIAN) return readWordsPortable(bytes, count, bytesPerSample, byteSwap);
  // a copy when misaligned (not `slice`: on a Node/Bun Buffer it is a view)
  const aligned = bytes.byteOffset % bytesPerSample === 0
    ? bytes
    : new Uint8Array(bytes.subarray(0, count * bytesPerSample));
  const words = bytesPerSample === 2
    ? new Uint16Array(aligned.buffer, aligned.byteOffset, count)
    : new Uint32Array(aligned.buffer, aligned.byteOffset, count);
  return byteSwap ? swapWords(words, bytesPerSample) : words;
}

/** Planar stored values from words: one loop per case, each a pair of 32-bit shifts per value. */
function storedPlanar(
  words: Words,
  out: Float32Array,
  count: number,
  shift: number,
  bits: number,
  signed: boolean,
) {
  const up = 32 - bits;
  if (shift === 0 && up === 0) {
    if (signed) {
      for (let i = 0; i < count; i++) out[i] = words[i] | 0;
    } else {
      for (let i = 0; i < count; i++) out[i] = words[i];
    }
  } else if (signed) {
    for (let i = 0; i < count; i++) out[i] = ((words[i] >>> shift) << up) >> up;
  } else {
    for (let i = 0; i < count; i++) out[i] = ((words[i] >>> shift) << up) >>> up;
  }
}

/** Interleaved samples (PlanarConfiguration 0) -> planar stored values, frame by frame. */
function storedInterleaved(
  words: Words,
  out: Float32Array,
  shape: readonly [frames: number, samples: number, plane: number],
  shift: number,
  bits: number,
  signed: boolean,
) {
  const [frames, spp, plane] = shape;
  const up = 32 - bits;
  for (let f = 0; f < frames; f++) {
    const base = f * plane * spp;
    for (let s = 0; s < spp; s++) {
      const o = base + s * plane;
      let i = base + s;
      if (signed) {
        for (let p = 0; p < plane; p++, i += spp) out[o + p] = ((words[i] >>> shift) << up) >> up;
      } else {
        for (let p = 0; p < plane; p++, i += spp) out[o + p] = ((words[i] >>> shift) << up) >>> up;
      }
    }
  }
}

/**
 * Stored values of raw pixel data, float32, planar `[frames, samples, rows, cols]` (`plane` = rows x
 * cols), into `out` when given (its length must be frames x samples x plane).
 */
export function unpackRaw(
  raw: RawPixels,
  shape: readonly [frames: number, samples: number, plane: number],
  out?: Float32Array,
): Float32Array {
  const [frames, samples, plane] = shape;
  const count = frames * samples * plane;
  const words = rawWords(raw, count);
  const values = out ?? new Float32Array(count);
  if (samples > 1 && raw.planar === 0) {
    storedInterleaved(words, values, shape, raw.shift, raw.bitsStored, raw.signed);
  } else {
    storedPlanar(words, values, count, raw.shift, raw.bitsStored, raw.signed);
  }
  return values;
}
