/**
 * Deflated Explicit VR Little Endian (PS3.5 A.5): the data set after the file meta is one raw DEFLATE
 * stream. It is inflated here, within a budget set by what the inflated header says the pixel data needs
 * (plus {@link DecodeLimits.inflateSlack}), so that a small file that inflates to gigabytes is refused after
 * a few megabytes of work. The inflated data set is then walked as explicit VR little endian.
 *
 * @module
 */
import { DicomDecodeError, FatalDecodeError } from "./errors.ts";
import { Inflater, InflateStop } from "./inflate.ts";
import type { DecodeLimits } from "./limits.ts";
import { TAG } from "./tags.ts";
import { DatasetWalker, type ElementSpan } from "./walk.ts";

/**
 * The inflated data set of a deflated file whose data set starts at `start`.
 *
 * @throws DicomDecodeError TRUNCATED (the stream ends early), INVALID_DICOM (corrupt stream), and
 *   {@link FatalDecodeError} when it inflates past what its header needs
 */
export function inflateDataset(bytes: Uint8Array, start: number, limits: DecodeLimits): Uint8Array {
  const budget = new InflateBudget(limits);
  try {
    return new Inflater(bytes, start, (prefix) => budget.limit(prefix)).run();
  } catch (e) {
    if (!(e instanceof InflateStop)) throw e;
    if (e.reason === "truncated") {
      throw new DicomDecodeError(
        "TRUNCATED",
        `The deflated data set ends before its compressed stream does (${e.produced} bytes inflated): the ` +
          "file is truncated; fetch the complete file again.",
      );
    }
    if (e.reason === "corrupt") {
      throw new DicomDecodeError(
        "INVALID_DICOM",
        `The deflated data set is corrupt after ${e.produced} inflated bytes (${e.message}); it cannot be ` +
          "inflated. Ask the sender for a valid copy.",
      );
    }
    throw new FatalDecodeError("INVALID_DICOM", budget.overrun(e.produced));
  }
}

/** How far the data set may inflate: the header limit until the Pixel Data header shows, then what it needs. */
class InflateBudget {
  private fixed?: number;
  private needed = 0;

  constructor(private readonly limits: DecodeLimits) {}

  limit(prefix: Uint8Array): number {
    if (this.fixed !== undefined) return this.fixed;
    const found = pixelNeed(prefix, this.limits);
    if (found === undefined) return this.limits.maxInflatedHeader;
    this.needed = found.pixelBytes;
    this.fixed = found.valueAt + found.pixelBytes + this.limits.inflateSlack;
    return this.fixed;
  }

  overrun(produced: number): string {
    if (this.fixed === undefined) {
      return `The deflated data set inflates past ${this.limits.maxInflatedHeader} bytes without reaching its ` +
        "Pixel Data: refused as a hostile or broken file (a decompression bomb).";
    }
    return `The deflated data set inflates past ${produced} bytes, but its Image Pixel module needs only ` +
      `${this.needed} bytes of pixel data (the limit is that plus ${this.limits.inflateSlack} bytes): refused as ` +
      "a hostile or broken file (a decompression bomb).";
  }
}

/** Where the pixel value starts and how many bytes the pixel module says it needs; undefined before it shows. */
function pixelNeed(
  prefix: Uint8Array,
  limits: DecodeLimits,
): { valueAt: number; pixelBytes: number } | undefined {
  let walk;
  try {
    walk = new DatasetWalker(prefix, { little: true, explicit: true }, limits, true).walk(0);
  } catch (e) {
    if (e instanceof FatalDecodeError) throw e;
    return undefined; // the prefix ends inside the header
  }
  const at = walk.pixel?.at;
  if (at === undefined) return undefined;
  const value = (tag: number) => readNumber(prefix, walk.elements.find((s) => s.tag === tag));
  const rows = value(TAG.Rows) ?? 0;
  const cols = value(TAG.Columns) ?? 0;
  const bits = value(TAG.BitsAllocated) ?? 0;
  const samples = value(TAG.SamplesPerPixel) ?? 1;
  const frames = value(TAG.NumberOfFrames) ?? 1;
  return { valueAt: at + 12, pixelBytes: Math.ceil((rows * cols * samples * frames * bits) / 8) };
}

/** A US value (little endian) or an IS value of an element, undefined when absent or unreadable. */
function readNumber(bytes: Uint8Array, span: ElementSpan | undefined): number | undefined {
  if (!span) return undefined;
  const length = span.end - span.valueAt;
  if (span.vr === "US" && length >= 2) return bytes[span.valueAt] | (bytes[span.valueAt + 1] << 8);
  if (span.vr === "IS") {
    const n = Number(String.fromCharCode(...bytes.subarray(span.valueAt, span.end)).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  }
  return undefined;
}
