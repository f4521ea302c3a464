/**
 * The one error type of the DICOM decoder, with a machine-readable code.
 *
 * Every failure of {@link decodeDicom}, {@link decodeDicomAsync} and {@link readHeader} (in `decode.ts`) is a
 * {@link DicomDecodeError}; its message says what is wrong with the file and what to do about it. The code
 * becomes the `error.code` of the input's entry in the run ledger.
 *
 * @module
 */

/**
 * Why a file could not be decoded.
 *
 * - `NOT_DICOM`: empty, or neither a Part 10 file nor a bare data set.
 * - `TRUNCATED`: the file (or a compressed frame inside it) ends early.
 * - `UNSUPPORTED_TRANSFER_SYNTAX`: a syntax (or a JPEG process inside one) no codec here reads.
 * - `UNSUPPORTED_PIXEL_DATA`: a pixel module this decoder does not handle (e.g. YBR_PARTIAL_420).
 * - `MISSING_PIXEL_DATA`: no Pixel Data, Float Pixel Data or Double Float Pixel Data.
 * - `INVALID_DICOM`: malformed structure, inconsistent attributes, or corrupt compressed data.
 * - `CODEC_UNAVAILABLE`: the codec of the syntax could not be loaded (or, with the synchronous
 *   `decodeDicom`, was not loaded yet).
 */
export type DecodeErrorCode =
  | "NOT_DICOM"
  | "TRUNCATED"
  | "UNSUPPORTED_TRANSFER_SYNTAX"
  | "UNSUPPORTED_PIXEL_DATA"
  | "MISSING_PIXEL_DATA"
  | "INVALID_DICOM"
  | "CODEC_UNAVAILABLE";

/** The one error the decoder throws: a {@link DecodeErrorCode} and a message for people. */
export class DicomDecodeError extends Error {
  readonly code: DecodeErrorCode;
  /** The fact alone (without what to do about it), for warnings that quote it; the message otherwise. */
  readonly detail: string;
  constructor(code: DecodeErrorCode, message: string, detail?: string) {
    super(message);
    this.name = "DicomDecodeError";
    this.code = code;
    this.detail = detail ?? message;
  }
}

/** The message of anything thrown (WASM codecs throw strings and numbers too). */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === "string") return e;
  return String(e);
}

/** Runs `fn`, turning anything it throws into a DicomDecodeError (no raw stack traces leak out). */
export function guard<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw asDecodeError(e);
  }
}

/**
 * `e` itself when it is a DicomDecodeError. Anything else is a defect of the reader (every failure it
 * foresees is coded where it is found); the runtime's own words are not passed on, except as a report hint.
 */
export function asDecodeError(e: unknown): DicomDecodeError {
  if (e instanceof DicomDecodeError) return e;
  const text = errorText(e);
  if (e instanceof RangeError && /allocat|array length|memory/i.test(text)) {
    return new DicomDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      "The image is too large to decode in the memory available to this process. Decode it on a machine " +
        "with more memory, or split the frames with a DICOM toolkit first.",
    );
  }
  if (e instanceof RangeError && /call stack/i.test(text)) {
    return new DicomDecodeError(
      "INVALID_DICOM",
      "The data set is nested too deeply to be read: refused as a hostile or broken file.",
    );
  }
  return new DicomDecodeError(
    "INVALID_DICOM",
    "The DICOM reader met something in this file it does not foresee, and stopped (a defect of the reader; " +
      `please report it with the file if you can: ${e instanceof Error ? e.name : typeof e}).`,
  );
}

/**
 * An error that is never downgraded to a warning, wherever in the file it is found: a resource limit of
 * `limits.ts` was passed (nesting, items, elements, inflated size, decoded size), or it is ambiguous which
 * element holds the image.
 */
export class FatalDecodeError extends DicomDecodeError {
  constructor(code: DecodeErrorCode, message: string, detail?: string) {
    super(code, message, detail);
  }
}

/** TRUNCATED: `what` needs the data to reach byte `needed`, but it ends at byte `length`. */
export function truncatedError(what: string, needed: number, length: number): DicomDecodeError {
  const detail = `${what}, which needs ${needed} bytes, but the file ends at byte ${length}`;
  return new DicomDecodeError(
    "TRUNCATED",
    `The DICOM file is truncated: ${detail}. It was probably cut short while copying or downloading (or ` +
      "that length is damaged); fetch the complete file again.",
    detail,
  );
}
