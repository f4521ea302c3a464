/**
 * The reference for `dicom/codecs/rle.ts` (tests only): the RLE decoder before it unpacked segments straight
 * into the samples' bytes - each segment into a plane of bytes, then ORed into the samples - kept so that
 * `tests/rle_test.ts` can hold the fast form equal to it, on valid and corrupt data.
 *
 * RLE Lossless (1.2.840.10008.1.2.5, PS3.5 Annex G) in pure TypeScript.
 *
 * A frame is a 64-byte header (number of segments, then 15 segment offsets) followed by one PackBits-coded
 * segment per byte plane: for each sample, the most significant byte first. 8-, 16- and 32-bit samples and
 * any number of samples per pixel are read; the output is planar (one plane per sample).
 *
 * @module
 */
import { DicomDecodeError } from "../../dicom/errors.ts";
import type { DecodedFrame, FrameRequest } from "../../dicom/codecs/types.ts";

/**
 * Decodes one RLE frame.
 *
 * @throws DicomDecodeError INVALID_DICOM for a malformed header, TRUNCATED when a segment ends early
 */
export function referenceDecodeRle(d: Uint8Array, request: FrameRequest): DecodedFrame {
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
  const segment = new Uint8Array(plane);
  const out = bytesPerSample === 1
    ? new Uint8Array(plane * samples)
    : bytesPerSample === 2
    ? new Uint16Array(plane * samples)
    : new Uint32Array(plane * samples);
  for (let s = 0; s < count; s++) {
    const start = offsets[s];
    const end = s + 1 < count ? offsets[s + 1] : d.length;
    if (start < 64 || start > end || end > d.length) {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `The RLE header of frame ${frame} has an invalid offset for segment ${s + 1} (${start}).`,
      );
    }
    unpackBits(d, start, end, segment, frame, s + 1);
    const sample = Math.floor(s / bytesPerSample);
    const shift = 8 * (bytesPerSample - 1 - (s % bytesPerSample));
    const base = sample * plane;
    if (bytesPerSample === 1) {
      (out as Uint8Array).set(segment, base);
    } else {
      for (let i = 0; i < plane; i++) out[base + i] = (out[base + i] | (segment[i] << shift)) >>> 0;
    }
  }
  return { samples: out, rows, cols, components: samples, interleaved: false, convertedToRgb: false };
}

/** PackBits: header n >= 0 copies n + 1 bytes, -127 <= n <= -1 repeats the next byte 1 - n times. */
function unpackBits(
  d: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  frame: number,
  seg: number,
): void {
  const need = out.length;
  let o = 0;
  let p = start;
  while (o < need && p < end) {
    const n = d[p++];
    if (n < 128) {
      const len = n + 1;
      if (p + len > end) break;
      const take = Math.min(len, need - o);
      for (let k = 0; k < take; k++) out[o + k] = d[p + k];
      o += take;
      p += len;
    } else if (n > 128) {
      if (p >= end) break;
      const len = 257 - n;
      out.fill(d[p++], o, Math.min(o + len, need));
      o += len;
    }
    // n === 128 (-128): no operation
  }
  if (o < need) {
    throw new DicomDecodeError(
      "TRUNCATED",
      `RLE segment ${seg} of frame ${frame} ends after ${o} of ${need} bytes: the RLE data was cut short ` +
        "(or is corrupt); fetch the complete file again.",
    );
  }
}
