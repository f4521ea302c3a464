/**
 * What the fuzz suite demands of the decoder's answer to one input: a well-formed image, or a
 * DicomDecodeError with a known code and a message in DICOM terms (never a runtime's or a parser's words).
 *
 * @module
 */

/** The decoder's answer to one input, as the fuzz worker reports it. */
export interface Outcome {
  readonly ok: boolean;
  /** Decoded shape and data length (ok). */
  readonly shape?: ReadonlyArray<number>;
  readonly length?: number;
  /** Warnings recorded in the ImageMeta (ok). */
  readonly warnings?: ReadonlyArray<string>;
  /** Error class name, code and message (failed). */
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  /** Milliseconds the decode took. */
  readonly ms: number;
  /** Resident set size of the worker after the decode, bytes. */
  readonly rss?: number;
}

/** Every code a DicomDecodeError may carry. */
export const CODES: ReadonlySet<string> = new Set([
  "NOT_DICOM",
  "TRUNCATED",
  "UNSUPPORTED_TRANSFER_SYNTAX",
  "UNSUPPORTED_PIXEL_DATA",
  "MISSING_PIXEL_DATA",
  "INVALID_DICOM",
  "CODEC_UNAVAILABLE",
]);

/**
 * Phrasings of runtimes (V8, JavaScriptCore), of dcmjs and of the decoder's own catch-all wrappers: none
 * may reach a user. "undefined" is allowed only as the DICOM term "undefined length".
 */
export const DENY: ReadonlyArray<RegExp> = [
  /Offset is outside the bounds/i,
  /past end of input/i,
  /Finding view/i,
  /Cannot read propert/i,
  /\bundefined\b(?![ -]length)/,
  /\bnull\b/,
  /\bNaN\b/,
  /Maximum call stack/i,
  /Request more than currently allocated/i,
  /Array buffer allocation failed/i,
  /Invalid (typed )?array length/i,
  /is not a function/i,
  /is not iterable/i,
  /out of memory/i,
  /\[object /,
  /\b(Type|Range|Reference|Syntax)Error\b/,
  /Out of bounds/i,
  /\(\S+:\d+:\d+\)/, // a stack frame
  /does not foresee/, // errors.ts's wrapper around an unexpected exception (a defect)
];

/** Why an outcome breaks the rules (empty when it is fine). */
export function problems(o: Outcome): string[] {
  const out: string[] = [];
  if (o.ok) {
    const shape = o.shape ?? [];
    const size = shape.reduce((a, b) => a * b, 1);
    if (shape.length !== 4 || size !== o.length || size === 0) out.push(`bad image ${shape} (${o.length})`);
    if (shape.length === 4 && shape[1] !== 1 && shape[1] !== 3) out.push(`bad channel count ${shape[1]}`);
    for (const w of o.warnings ?? []) out.push(...textProblems(w, "warning"));
    return out;
  }
  if (o.name !== "DicomDecodeError") out.push(`threw ${o.name}: ${o.message}`);
  if (!CODES.has(o.code ?? "")) out.push(`unknown code ${o.code}`);
  out.push(...textProblems(o.message ?? "", "message"));
  return out;
}

/** Internal phrasings in a text meant for people. */
export function textProblems(text: string, what: string): string[] {
  const out: string[] = [];
  if (text.trim().length < 20) out.push(`${what} too short: ${JSON.stringify(text)}`);
  for (const re of DENY) if (re.test(text)) out.push(`${what} has internal text ${re}: ${text}`);
  return out;
}
