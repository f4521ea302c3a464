/**
 * The Image Pixel module checks, and decoded codec frames -> stored values.
 *
 * Codec output goes through the same masking as native data: keep `BitsStored` bits, sign-extend from bit
 * `BitsStored - 1` when `PixelRepresentation` is 1. This also fixes codec output whose signedness disagrees
 * with the data set: JPEG-LS and JPEG lossless carry no sign (signed pixels are coded as their two's
 * complement bit pattern), and JPEG 2000 codestreams are sometimes marked unsigned for signed pixel data (or
 * the reverse); in every case the bit pattern is what the pixel module describes.
 *
 * Before any codec runs, each compressed frame's own header must give the image size of the data set (so
 * that a codestream that claims 65535 x 65535 pixels is refused before a codec allocates for it), and the
 * pixel element is looked at for what is worth a warning.
 *
 * @module
 */
import type { ImageMeta } from "./meta.ts";
import { readJ2kHeader } from "./codecs/j2k_markers.ts";
import { readJpegHeader } from "./codecs/jpeg_markers.ts";
import type { DecodedFrame } from "./codecs/types.ts";
import { DicomDecodeError } from "./errors.ts";
import { nativeBytesNeeded } from "./native.ts";
import { EXPLICIT_BE, type PixelEncoding } from "./syntaxes.ts";
import type { PixelElement } from "./walk.ts";

const SAMPLES: Readonly<Record<string, number>> = {
  MONOCHROME1: 1,
  MONOCHROME2: 1,
  "PALETTE COLOR": 1,
  RGB: 3,
  YBR_FULL: 3,
  YBR_FULL_422: 3,
  YBR_RCT: 3,
  YBR_ICT: 3,
};

/**
 * Checks that the pixel module can be decoded with this pixel encoding.
 *
 * @throws DicomDecodeError UNSUPPORTED_PIXEL_DATA or INVALID_DICOM
 */
export function checkPixelModule(m: ImageMeta, encoding: PixelEncoding): void {
  const bad = (msg: string) => new DicomDecodeError("INVALID_DICOM", msg);
  const unsupported = (msg: string) => new DicomDecodeError("UNSUPPORTED_PIXEL_DATA", msg);
  if (m.floatPixelData) {
    const bits = m.floatPixelData === "float32" ? 32 : 64;
    if (m.bitsAllocated !== bits) {
      throw bad(`${m.floatPixelData} pixel data needs BitsAllocated ${bits}, but it is ${m.bitsAllocated}.`);
    }
    if (m.photometric !== "MONOCHROME1" && m.photometric !== "MONOCHROME2") {
      throw unsupported(
        `Float pixel data with photometric interpretation ${m.photometric} is not supported.`,
      );
    }
  } else {
    if (![1, 8, 16, 32].includes(m.bitsAllocated)) {
      throw unsupported(`BitsAllocated ${m.bitsAllocated} is not supported (supported: 1, 8, 16, 32).`);
    }
    if (m.bitsAllocated === 1 && encoding !== "native" && encoding !== "uncompressed") {
      throw unsupported("BitsAllocated 1 (packed bits) is only defined for uncompressed pixel data.");
    }
    if (!(m.bitsStored >= 1 && m.bitsStored <= m.bitsAllocated)) {
      throw bad(`BitsStored ${m.bitsStored} is not between 1 and BitsAllocated (${m.bitsAllocated}).`);
    }
    if (!(m.highBit >= m.bitsStored - 1 && m.highBit < m.bitsAllocated)) {
      throw bad(
        `HighBit ${m.highBit} is inconsistent with BitsStored ${m.bitsStored} and BitsAllocated ` +
          `${m.bitsAllocated} (it must be at least BitsStored - 1 and below BitsAllocated).`,
      );
    }
    if (m.pixelRepresentation !== 0 && m.pixelRepresentation !== 1) {
      throw bad(`PixelRepresentation ${m.pixelRepresentation} is invalid (0 unsigned, 1 two's complement).`);
    }
  }
  const spp = SAMPLES[m.photometric];
  if (spp === undefined) {
    const supported = Object.keys(SAMPLES).join(", ");
    const stored = m.photometric || "(empty)";
    throw unsupported(
      `Photometric interpretation ${stored} is not supported (supported: ${supported}). Convert the ` +
        "image to RGB or grayscale with a DICOM toolkit first.",
    );
  }
  if (m.samplesPerPixel !== spp) {
    throw bad(
      `SamplesPerPixel ${m.samplesPerPixel} does not match the photometric interpretation ${m.photometric} ` +
        `(which needs ${spp}).`,
    );
  }
  if (m.samplesPerPixel > 1 && m.planarConfiguration !== 0 && m.planarConfiguration !== 1) {
    throw bad(`PlanarConfiguration ${m.planarConfiguration} is invalid (0 interleaved, 1 planar).`);
  }
  if (m.photometric === "YBR_FULL_422" && encoding === "native" && m.planarConfiguration === 1) {
    throw bad("YBR_FULL_422 pixel data must be interleaved (PlanarConfiguration 0).");
  }
  if (
    (m.photometric === "YBR_RCT" || m.photometric === "YBR_ICT") && encoding !== "j2k" && encoding !== "htj2k"
  ) {
    throw bad(
      `Photometric interpretation ${m.photometric} is only defined for JPEG 2000 and HTJ2K pixel data, not ` +
        `for ${encoding} data: the file is inconsistent.`,
    );
  }
  if (m.photometric === "PALETTE COLOR" && m.bitsAllocated !== 8 && m.bitsAllocated !== 16) {
    throw unsupported(`PALETTE COLOR with BitsAllocated ${m.bitsAllocated} is not supported (8 or 16).`);
  }
}

/**
 * A decoded frame must have the data set's size and samples (frame `index`, 0-based).
 *
 * @throws DicomDecodeError INVALID_DICOM when it does not
 */
export function checkDecodedFrame(frame: DecodedFrame, index: number, m: ImageMeta): void {
  if (frame.rows !== m.rows || frame.cols !== m.cols || frame.components !== m.samplesPerPixel) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `Frame ${index + 1} decodes to ${frame.cols} x ${frame.rows} pixels with ${frame.components} ` +
        `component(s), but the data set says ${m.cols} x ${m.rows} with ${m.samplesPerPixel} sample(s) per pixel.`,
    );
  }
}

/**
 * Writes one decoded frame as stored values into `out` (planar `[samples, rows, cols]` at frame `index`).
 *
 * @throws DicomDecodeError INVALID_DICOM when the frame's size or components differ from the data set
 */
export function storeFrame(out: Float32Array, index: number, frame: DecodedFrame, m: ImageMeta): void {
  checkDecodedFrame(frame, index, m);
  const spp = m.samplesPerPixel;
  const plane = m.rows * m.cols;
  const base = index * plane * spp;
  const src = frame.samples;
  const up = 32 - m.bitsStored;
  const signed = m.pixelRepresentation === 1;
  const step = frame.interleaved ? spp : 1;
  // Planar samples that need no masking (unsigned, their type's width is BitsStored) are copied as they are.
  const whole = !signed &&
    (src instanceof Uint8Array ? up === 24 : src instanceof Uint16Array ? up === 16 : false);
  for (let s = 0; s < spp; s++) {
    const o = base + s * plane;
    let i = frame.interleaved ? s : s * plane;
    if (whole && step === 1) {
      out.set(src.subarray(i, i + plane), o);
    } else if (signed) {
      for (let p = 0; p < plane; p++, i += step) out[o + p] = (src[i] << up) >> up;
    } else if (up === 0) {
      for (let p = 0; p < plane; p++, i += step) out[o + p] = src[i] >>> 0;
    } else {
      for (let p = 0; p < plane; p++, i += step) out[o + p] = (src[i] << up) >>> up;
    }
  }
}

/**
 * The size a compressed frame's own header gives (JPEG SOF, JPEG-LS SOF55, JPEG 2000 SIZ) must be the
 * data set's Rows x Columns.
 *
 * @throws DicomDecodeError INVALID_DICOM when it is not (or the header is unreadable: TRUNCATED / INVALID_DICOM)
 */
export function checkFrameSize(frame: Uint8Array, family: PixelEncoding, m: ImageMeta, index: number): void {
  let size: { readonly rows: number; readonly cols: number } | undefined;
  if (family === "jpeg" || family === "jpegls") size = readJpegHeader(frame, index);
  if (family === "j2k" || family === "htj2k") size = readJ2kHeader(frame, index);
  if (!size || size.rows === 0 || (size.rows === m.rows && size.cols === m.cols)) return;
  throw new DicomDecodeError(
    "INVALID_DICOM",
    `Frame ${index} is ${size.cols} x ${size.rows} pixels by its own header, but the data set says ${m.cols} x ` +
      `${m.rows} (Columns x Rows): the file is inconsistent, so the frame is not decoded. Ask the sender for a ` +
      "valid file.",
  );
}

/**
 * What is worth saying about the pixel element of a file that decodes: a native Pixel Data value that
 * declares more bytes than the file holds although every frame is complete (the file was cut short after
 * the image), and the reading used for 32-bit samples in Explicit VR Big Endian.
 */
export function pixelWarnings(m: ImageMeta, pixel: PixelElement, transferSyntaxUid: string): string[] {
  const out: string[] = [];
  const bigEndian = transferSyntaxUid === EXPLICIT_BE;
  const value = pixel.value;
  if (value && pixel.declaredLength !== undefined && value.length < pixel.declaredLength) {
    const needed = nativeBytesNeeded(m, bigEndian, pixel.vr);
    if (value.length >= needed) {
      out.push(
        `${pixel.tag} declares ${pixel.declaredLength} bytes, but the file ends after ${value.length} of them: ` +
          `the file was cut short after the image (all ${m.frames} frame(s), ${needed} bytes, are present); ` +
          "whatever followed the pixel data is lost.",
      );
    }
  }
  if (bigEndian && value && !m.floatPixelData && m.bitsAllocated === 32) {
    out.push(
      `32-bit samples in ${
        pixel.vr ?? "native"
      } Pixel Data of an Explicit VR Big Endian file were read as DCMTK ` +
        "and GDCM read them: each 16-bit word byte-swapped, the words in file order. pydicom reads whole " +
        "32-bit big-endian words instead, which gives other values.",
    );
  }
  return out;
}
