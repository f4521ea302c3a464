/**
 * Deflated Explicit VR Little Endian (PS3.5 A.5): the data set after the file meta is one raw DEFLATE
 * stream. It is inflated here, within a budget: at most {@link DecodeLimits.maxInflateRatio} times the
 * compressed bytes read (past {@link DecodeLimits.inflateRatioFloor}), and no more than what the inflated
 * header says the pixel data needs (plus {@link DecodeLimits.inflateSlack}), so that a small file that
 * inflates to gigabytes is refused after a few megabytes of work. The inflated data set is then walked as explicit VR little endian.
 *
 * @module
 */
import { DicomDecodeError, FatalDecodeError } from "./errors.ts";
import { type InflateAllowance, Inflater, InflateStop } from "./inflate.ts";
import type { DecodeLimits } from "./limits.ts";
import { TAG } from "./tags.ts";
import { DatasetWalker, type ElementSpan } from "./walk.ts";

/** What inflating a data set cost: bytes inflated, compressed bytes read, bytes of output buffers allocated. */
export interface InflateStats {
  inflated: number;
  consumed: number;
  allocated: number;
  /** The largest output buffer (the last). */
  capacity: number;
}

/**
 * The inflated data set of a deflated file whose data set starts at `start`.
 *
 * @param stats filled in with what the inflation cost (also when it is refused)
 * @throws DicomDecodeError TRUNCATED (the stream ends early), INVALID_DICOM (corrupt stream), and
 *   {@link FatalDecodeError} when it inflates past what its header needs or by more than the inflation ratio
 */
export function inflateDataset(
  bytes: Uint8Array,
  start: number,
  limits: DecodeLimits,
  stats?: InflateStats,
): Uint8Array {
  const budget = new DatasetBudget(limits);
  const inflater = new Inflater(bytes, start, (prefix, consumed) => budget.allow(prefix, consumed));
  try {
    return inflater.run();
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
    throw new FatalDecodeError("INVALID_DICOM", budget.overrun(inflater.consumed));
  } finally {
    if (stats) {
      stats.inflated = inflater.produced;
      stats.consumed = inflater.consumed;
      stats.allocated = inflater.allocated;
      stats.capacity = inflater.capacity;
    }
  }
}

const BOMB = "refused as a hostile or broken file (a decompression bomb)";

/**
 * How far the data set may inflate: until the Pixel Data header shows, never more than
 * {@link DecodeLimits.maxInflateRatio} times the compressed bytes read so far (past
 * {@link DecodeLimits.inflateRatioFloor}) nor the header limit; then what the Image Pixel module says the pixel
 * data needs. The inflated prefix is walked
 * again only each time it has doubled, so the budget costs a few walks of the header.
 */
class DatasetBudget {
  private pixel?: { readonly valueAt: number; readonly bytes: number };
  private walkedAt = 0;
  private binding: "ratio" | "header" | "pixel" = "header";
  private limit = 0;

  constructor(private readonly limits: DecodeLimits) {}

  allow(prefix: Uint8Array, consumed: number): InflateAllowance {
    if (this.pixel === undefined && prefix.length > 0 && prefix.length >= 2 * this.walkedAt) {
      this.walkedAt = prefix.length;
      this.pixel = pixelNeed(prefix, this.limits);
    }
    // The ratio bounds only the header: once the Image Pixel module says what the pixels need, that is the
    // bound (a nearly blank image compresses like a bomb, but its header declares what it inflates to).
    const ratio = this.pixel
      ? Infinity
      : Math.max(this.limits.inflateRatioFloor, this.limits.maxInflateRatio * consumed);
    const structural = this.pixel
      ? this.pixel.valueAt + this.pixel.bytes + this.limits.inflateSlack
      : this.limits.maxInflatedHeader;
    this.binding = ratio < structural ? "ratio" : this.pixel ? "pixel" : "header";
    this.limit = Math.min(ratio, structural);
    // The pixel value and the item delimiters or padding that may follow it.
    const expected = this.pixel ? this.pixel.valueAt + this.pixel.bytes + 1024 : undefined;
    return { limit: this.limit, expected };
  }

  overrun(consumed: number): string {
    const { limits, limit } = this;
    if (this.binding === "ratio") {
      return `The deflated data set inflates past ${limit} bytes from only ${consumed} compressed bytes, more ` +
        `than ${limits.maxInflateRatio} times before its Pixel Data (a header inflates about 2 to 10 times): ` +
        `${BOMB}. If the header is genuine, raise limits.maxInflateRatio or limits.inflateRatioFloor ` +
        `(${limits.inflateRatioFloor} bytes) when decoding through the library.`;
    }
    if (this.binding === "header") {
      return `The deflated data set inflates past ${limit} bytes without reaching its Pixel Data: ${BOMB}. ` +
        "If the header is genuinely that large, raise limits.maxInflatedHeader when decoding through the library.";
    }
    return `The deflated data set inflates past ${limit} bytes, but its Image Pixel module needs only ` +
      `${
        this.pixel!.bytes
      } bytes of pixel data (the limit is that plus ${limits.inflateSlack} bytes): ${BOMB}. ` +
      "If elements genuinely follow the Pixel Data, raise limits.inflateSlack when decoding through the library.";
  }
}

/**
 * Where the pixel value starts and how many bytes the pixel module says it needs; undefined before it shows.
 *
 * @throws FatalDecodeError UNSUPPORTED_PIXEL_DATA when the pixel module declares more values than the
 *   decoder's limit (so they are not inflated first)
 */
function pixelNeed(
  prefix: Uint8Array,
  limits: DecodeLimits,
): { valueAt: number; bytes: number } | undefined {
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
  const values = rows * cols * samples * frames;
  if (values > limits.maxDecodedValues) {
    throw new FatalDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      `The deflated data set's Image Pixel module declares ${cols} x ${rows} pixels x ${frames} frame(s) x ` +
        `${samples} sample(s): ${values} values, over the decoder's limit of ${limits.maxDecodedValues} ` +
        "values; refused before they are inflated. Split the frames with a DICOM toolkit (or raise " +
        "limits.maxDecodedValues when decoding through the library).",
    );
  }
  return { valueAt: at + 12, bytes: Math.ceil((values * bits) / 8) };
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
