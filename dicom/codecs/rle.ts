/**
 * RLE Lossless (1.2.840.10008.1.2.5, PS3.5 Annex G) in pure TypeScript.
 *
 * A frame is a 64-byte header (number of segments, then 15 segment offsets) followed by one PackBits-coded
 * segment per byte plane: for each sample, the most significant byte first. 8-, 16- and 32-bit samples and
 * any number of samples per pixel are read; the output is planar (one plane per sample).
 *
 * @module
 */
import { HOST_LITTLE_ENDIAN } from "../bytes.ts";
import { DicomDecodeError } from "../errors.ts";
import type { DecodedFrame, FrameCodec, FrameRequest } from "./types.ts";

/** The RLE decoder as a {@link FrameCodec}. */
export const rleCodec: FrameCodec = {
  name: "built-in RLE Lossless decoder (PS3.5 Annex G, pure TypeScript)",
  decode: decodeRle,
};

/**
 * Decodes one RLE frame.
 *
 * @throws DicomDecodeError INVALID_DICOM for a malformed header, TRUNCATED when a segment ends early
 */
export function decodeRle(d: Uint8Array, request: FrameRequest): DecodedFrame {
  const { rows, cols, samples, bitsAllocated, frame } = request;
  if (bitsAllocated % 8 !== 0 || bitsAllocated === 0 || bitsAllocated > 32) {
    throw new DicomDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      `RLE Lossless with BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32).`,
    );
  }
  if (d.length < 64) {
    throw new DicomDecodeError(
      "TRUNCATED",
      `The RLE data of frame ${frame} is ${d.length} bytes, shorter than its 64-byte header: the frame was cut ` +
        "short; fetch the complete file again.",
    );
  }
  const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
  const bytesPerSample = bitsAllocated / 8;
  const expected = samples * bytesPerSample;
  const count = v.getUint32(0, true);
  if (count !== expected) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `The RLE header of frame ${frame} lists ${count} segment(s), but ${samples} sample(s) of ` +
        `${bitsAllocated} bits need ${expected}: the RLE data does not match the pixel module.`,
    );
  }
  const offsets: number[] = [];
  for (let s = 0; s < count; s++) offsets.push(v.getUint32(4 + 4 * s, true));
  const plane = rows * cols;
  const out = bytesPerSample === 1
    ? new Uint8Array(plane * samples)
    : bytesPerSample === 2
    ? new Uint16Array(plane * samples)
    : new Uint32Array(plane * samples);
  // Each segment is unpacked straight into its byte of every sample (a stride of bytesPerSample bytes).
  const bytes = new Uint8Array(out.buffer);
  for (let s = 0; s < count; s++) {
    const start = offsets[s];
    const end = s + 1 < count ? offsets[s + 1] : d.length;
    if (start < 64 || start > end || end > d.length) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `The RLE header of frame ${frame} has an invalid offset for segment ${s + 1} (${start}).`,
      );
    }
    const sample = Math.floor(s / bytesPerSample);
    const significance = s % bytesPerSample; // 0: the most significant byte
    const byte = HOST_LITTLE_ENDIAN ? bytesPerSample - 1 - significance : significance;
    const at = sample * plane * bytesPerSample + byte;
    const written = bytesPerSample === 1
      ? unpackBits(d, start, end, bytes, at, plane)
      : unpackBitsStrided(d, start, end, bytes, at, bytesPerSample, plane);
    if (written < plane) {
      throw new DicomDecodeError(
        "TRUNCATED",
        `RLE segment ${
          s + 1
        } of frame ${frame} ends after ${written} of ${plane} bytes: the RLE data was cut ` +
          "short (or is corrupt); fetch the complete file again.",
      );
    }
  }
  return { samples: out, rows, cols, components: samples, interleaved: false, convertedToRgb: false };
}

/** Literals at least this long are copied with `set` (a view and a copy cost more for shorter ones). */
const LONG_LITERAL = 64;

/**
 * PackBits (header n >= 0 copies n + 1 bytes, -127 <= n <= -1 repeats the next byte 1 - n times, -128 does
 * nothing) of `d[start, end)` into `need` consecutive bytes of `out` from `at`; returns how many it wrote.
 */
function unpackBits(
  d: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  need: number,
): number {
  const stop = at + need;
  let o = at;
  let p = start;
  while (o < stop && p < end) {
    const n = d[p++];
    if (n < 128) {
      const len = n + 1;
      if (p + len > end) break;
      const take = Math.min(len, stop - o);
      if (take >= LONG_LITERAL) out.set(d.subarray(p, p + take), o);
      else for (let k = 0; k < take; k++) out[o + k] = d[p + k];
      o += take;
      p += len;
    } else if (n > 128) {
      if (p >= end) break;
      const len = Math.min(257 - n, stop - o);
      out.fill(d[p++], o, o + len);
      o += len;
    }
  }
  return o - at;
}

/** {@link unpackBits} into every `stride`-th byte of `out` from `at`: one byte of each sample. */
function unpackBitsStrided(
  d: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  stride: number,
  need: number,
): number {
  let o = at;
  let left = need;
  let p = start;
  while (left > 0 && p < end) {
    const n = d[p++];
    if (n < 128) {
      const len = n + 1;
      if (p + len > end) break;
      const take = Math.min(len, left);
      for (let k = 0; k < take; k++, o += stride) out[o] = d[p + k];
      left -= take;
      p += len;
    } else if (n > 128) {
      if (p >= end) break;
      const take = Math.min(257 - n, left);
      const b = d[p++];
      for (let k = 0; k < take; k++, o += stride) out[o] = b;
      left -= take;
    }
  }
  return need - left;
}
