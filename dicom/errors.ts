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
  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.name = "DicomDecodeError";
    this.code = code;
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

/** `e` itself when it is a DicomDecodeError, else an INVALID_DICOM one quoting it. */
export function asDecodeError(e: unknown): DicomDecodeError {
  if (e instanceof DicomDecodeError) return e;
  return new DicomDecodeError("INVALID_DICOM", `The DICOM file could not be decoded: ${errorText(e)}.`);
}
