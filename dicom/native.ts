/**
 * Native (uncompressed) pixel data -> stored values, planar `[frames, samples, rows, cols]` float32.
 *
 * - Integer Pixel Data, BitsAllocated 8/16/32: values are masked to `BitsStored` bits below `HighBit` and
 *   sign-extended when `PixelRepresentation` is 1, whatever garbage the container's other bits hold.
 *   Explicit VR big endian files have their OW words byte-swapped here (dcmjs does not).
 * - BitsAllocated 1 (e.g. SEG): bits packed little-endian within each byte, frames not byte-aligned.
 * - Float Pixel Data (float32) and Double Float Pixel Data (float64, narrowed to float32).
 * - YBR_FULL_422: each pair of pixels is stored as Y1 Y2 Cb Cr; the chroma is replicated to both pixels
 *   (as pydicom does) and the result is Y, Cb, Cr planes, converted to RGB by colour.ts.
 *
 * Cut-short pixel data is always TRUNCATED (never garbage); trailing padding is ignored.
 *
 * @module
 */
import type { ImageMeta, RawPixels } from "./meta.ts";
import type { PixelElement } from "./walk.ts";
import { DicomDecodeError } from "./errors.ts";
import { metaWith } from "./lazy_dataset.ts";
import { unpackRaw } from "./words.ts";

/**
 * Stored values of native pixel data.
 *
 * @param bigEndian explicit VR big endian transfer syntax
 * @throws DicomDecodeError TRUNCATED when the value is shorter than the pixel module needs
 */
export function nativeStoredValues(m: ImageMeta, pixel: PixelElement, bigEndian: boolean): Float32Array {
  const bytes = pixel.value ?? new Uint8Array(0);
  if (m.floatPixelData) return floatValues(m, bytes, bigEndian);
  if (m.bitsAllocated === 1) return bitValues(m, bytes, bigEndian && pixel.vr === "OW");
  if (m.photometric === "YBR_FULL_422") return ybr422Values(m, bytes, bigEndian, pixel.vr);
  return storedValues(m, bytes, bigEndian, pixel.vr);
}

/** Stored values of one frame of native little-endian bytes (Encapsulated Uncompressed syntax). */
export function nativeFrameValues(m: ImageMeta, bytes: Uint8Array): Float32Array {
  const one = metaWith(m, { frames: 1 });
  if (m.bitsAllocated === 1) return bitValues(one, bytes, false);
  if (m.photometric === "YBR_FULL_422") return ybr422Values(one, bytes, false, "OB");
  return storedValues(one, bytes, false, "OB");
}

/**
 * The bytes native pixel data needs for the whole image (what the decoder reads), in the file's byte
 * order: 8-bit samples in big-endian OW words are read pairwise (the pad byte of an odd count too).
 */
export function nativeBytesNeeded(m: ImageMeta, bigEndian: boolean, vr: string | undefined): number {
  const count = m.rows * m.cols * m.samplesPerPixel * m.frames;
  if (m.floatPixelData) return count * (m.floatPixelData === "float64" ? 8 : 4);
  if (m.bitsAllocated === 1) return Math.ceil(count / 8);
  const bytes = m.bitsAllocated / 8;
  if (m.photometric === "YBR_FULL_422") return Math.min(count * bytes, (count / 3) * 2 * bytes);
  return bigEndian && vr === "OW" && bytes === 1 ? count + (count & 1) : count * bytes;
}

/** TRUNCATED, saying how many whole frames are present (frames are never decoded in part). */
function truncatedPixels(m: ImageMeta, what: string, expected: number, present: number): DicomDecodeError {
  const perFrame = expected / m.frames;
  const whole = Math.floor(present / perFrame);
  const complete = whole === 0 ? "No frame is complete" : `Frames 1 to ${whole} are complete`;
  const frames = m.frames > 1
    ? ` ${complete}; frame(s) ${
      whole + 1
    } to ${m.frames} are missing or cut short (no frame is decoded from ` +
      "an incomplete file)."
    : "";
  return new DicomDecodeError(
    "TRUNCATED",
    `Pixel Data is truncated: ${m.rows} rows x ${m.cols} columns x ${m.frames} frame(s) x ${what} = ` +
      `${expected} bytes expected, but only ${present} bytes are present.${frames} The file was probably cut ` +
      "short; fetch the complete file again.",
  );
}

function floatValues(m: ImageMeta, bytes: Uint8Array, bigEndian: boolean): Float32Array {
  const size = m.floatPixelData === "float64" ? 8 : 4;
  const count = m.rows * m.cols * m.samplesPerPixel * m.frames;
  const expected = count * size;
  if (bytes.length < expected) {
    throw truncatedPixels(m, `${m.samplesPerPixel} sample(s) x ${size} byte(s)`, expected, bytes.length);
  }
  const out = new Float32Array(count);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (size === 4) {
    for (let i = 0; i < count; i++) out[i] = v.getFloat32(4 * i, !bigEndian);
  } else {
    for (let i = 0; i < count; i++) out[i] = v.getFloat64(8 * i, !bigEndian);
  }
  return planarFromInterleaved(m, out);
}

/** BitsAllocated 1: bit k of the pixel data (LSB first in each byte) is pixel k of the whole image. */
function bitValues(m: ImageMeta, bytes: Uint8Array, swapWordBytes: boolean): Float32Array {
  const count = m.rows * m.cols * m.samplesPerPixel * m.frames;
  const expected = Math.ceil(count / 8);
  if (bytes.length < expected + (swapWordBytes ? expected & 1 : 0)) {
    throw truncatedPixels(m, `${m.samplesPerPixel} sample(s) x 1 bit (packed)`, expected, bytes.length);
  }
  const out = new Float32Array(count);
  const swap = swapWordBytes ? 1 : 0;
  for (let k = 0; k < count; k++) out[k] = (bytes[(k >> 3) ^ swap] >> (k & 7)) & 1;
  return out;
}

/** YBR_FULL_422 (2 samples per pixel on average): Y1 Y2 Cb Cr -> Y, Cb, Cr planes at full resolution. */
function ybr422Values(
  m: ImageMeta,
  bytes: Uint8Array,
  bigEndian: boolean,
  vr: string | undefined,
): Float32Array {
  const bytesPerSample = m.bitsAllocated / 8;
  const fullLength = m.rows * m.cols * 3 * m.frames * bytesPerSample;
  if (bytes.length >= fullLength) {
    // Labelled YBR_FULL_422 but not subsampled (seen after lossy JPEG was decompressed): full YBR.
    return storedValues(m, bytes, bigEndian, vr);
  }
  if (m.cols % 2 !== 0) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `YBR_FULL_422 needs an even number of columns (pixel pairs share their chroma), but Columns is ${m.cols}.`,
    );
  }
  const subsampled = m.rows * m.cols * 2 * m.frames * bytesPerSample;
  if (bytes.length < subsampled) {
    throw truncatedPixels(
      m,
      `2 samples (YBR_FULL_422) x ${bytesPerSample} byte(s)`,
      subsampled,
      bytes.length,
    );
  }
  // The subsampled stream read as one 2-column-wide plane: Y1 Y2 Cb Cr per pair.
  const flat = storedValues(
    metaWith(m, { samplesPerPixel: 1, cols: m.cols * 2, photometric: "MONOCHROME2" }),
    bytes,
    bigEndian,
    vr,
  );
  const plane = m.rows * m.cols;
  const out = new Float32Array(plane * 3 * m.frames);
  for (let f = 0; f < m.frames; f++) {
    const src = f * plane * 2;
    const y = f * plane * 3;
    const cb = y + plane;
    const cr = cb + plane;
    for (let p = 0, s = src; p < plane; p += 2, s += 4) {
      out[y + p] = flat[s];
      out[y + p + 1] = flat[s + 1];
      out[cb + p] = out[cb + p + 1] = flat[s + 2];
      out[cr + p] = out[cr + p + 1] = flat[s + 3];
    }
  }
  return out;
}

/** Interleaved samples (PlanarConfiguration 0) -> planar, frame by frame; a copy-free pass for 1 sample. */
function planarFromInterleaved(m: ImageMeta, values: Float32Array): Float32Array {
  const spp = m.samplesPerPixel;
  if (spp === 1 || m.planarConfiguration === 1) return values;
  const plane = m.rows * m.cols;
  const out = new Float32Array(values.length);
  for (let f = 0; f < m.frames; f++) {
    const base = f * plane * spp;
    for (let s = 0; s < spp; s++) {
      const o = base + s * plane;
      for (let p = 0, i = base + s; p < plane; p++, i += spp) out[o + p] = values[i];
    }
  }
  return out;
}

/**
 * Container words -> stored values, planar `[frames, samples, rows, cols]` (the one unpacker:
 * {@link unpackRaw}), after checking that the value holds every frame.
 */
function storedValues(
  m: ImageMeta,
  bytes: Uint8Array,
  bigEndian: boolean,
  pixelVr: string | undefined,
): Float32Array {
  const plane = m.rows * m.cols;
  const spp = m.samplesPerPixel;
  const count = plane * spp * m.frames;
  const bytesPerSample = m.bitsAllocated / 8;
  // 8-bit samples in big-endian OW words are read pairwise, so the pad byte of an odd count is needed too.
  const pairwise = bigEndian && pixelVr === "OW" && bytesPerSample === 1;
  const expected = pairwise ? count + (count & 1) : count * bytesPerSample;
  if (bytes.length < expected) {
    throw truncatedPixels(m, `${spp} sample(s) x ${bytesPerSample} byte(s)`, expected, bytes.length);
  }
  const raw: RawPixels = {
    type: "raw",
    bytes,
    bitsAllocated: m.bitsAllocated as 8 | 16 | 32,
    bitsStored: m.bitsStored,
    shift: m.highBit + 1 - m.bitsStored,
    signed: m.pixelRepresentation === 1,
    byteSwap: bigEndian && (bytesPerSample > 1 || pairwise),
    planar: m.planarConfiguration === 1 ? 1 : 0,
  };
  return unpackRaw(raw, [m.frames, spp, plane]);
}
