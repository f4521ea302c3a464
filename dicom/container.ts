/**
 * The DICOM container: the Part 10 envelope (part10.ts), the inflated data set of deflated files
 * (deflated.ts), the structure walk (walk.ts) and the attribute values (dcmjs.ts), put together into what
 * the decoder needs: the transfer syntax, the naturalized attributes, the pixel element as views into the
 * file, and what was read past (warnings).
 *
 * Files in the wild are read where they are unambiguous: a bare data set without preamble and file meta
 * (read as DCMTK does: implicit VR little endian, or explicit when the first element carries a VR), a file
 * that starts with "DICM" or with its file meta group, a file meta group without (0002,0000) group length,
 * with a wrong one, or without Transfer Syntax UID (guessed from the data set, and for encapsulated pixel
 * data from the codec's start marker), private sequences and undefined-length UN sequences (PS3.5 6.2.2).
 * A damaged element outside the pixel module is skipped with a warning; a damaged element the pixels need
 * (Image Pixel module, frames, Modality / VOI LUT, palette) is a coded error.
 *
 * @module
 */
import { type HeaderAttributes, readHeaderAttributes, type UnreadElement } from "./dcmjs.ts";
import { inflateDataset } from "./deflated.ts";
import { inferEncapsulatedSyntax } from "./encapsulated.ts";
import { DicomDecodeError, FatalDecodeError } from "./errors.ts";
import { type DecodeLimits, DEFAULT_LIMITS } from "./limits.ts";
import { guessSyntax, type Part10, readPart10 } from "./part10.ts";
import {
  DEFLATED_LE,
  EXPLICIT_BE,
  EXPLICIT_LE,
  IMPLICIT_LE,
  isEncapsulated,
  syntaxLabel,
} from "./syntaxes.ts";
import { PIXEL_INTERPRETATION_TAGS } from "./tags.ts";
import { DatasetWalker, type PixelElement, type WalkResult } from "./walk.ts";

export type { PixelElement, PixelTag } from "./walk.ts";

/** The parsed container. */
export interface Container {
  readonly transferSyntaxUid: string;
  /** The file meta information had no Transfer Syntax UID: it was inferred from the data set. */
  readonly guessedSyntax: boolean;
  /**
   * Naturalized attributes (dcmjs), without the pixel elements: those dcmflow reads (keywords.ts), or all of
   * them (see dcmjs.ts's `readHeaderAttributes`).
   */
  readonly dataset: Record<string, unknown>;
  /**
   * The whole naturalized data set, without the pixel elements, made on the first call: the data set, and
   * the plain object behind its Proxy where the native naturalizer made it (naturalize.ts).
   */
  readonly whole: HeaderAttributes["whole"];
  /** Pixel Data, Float Pixel Data or Double Float Pixel Data; absent for header-only parses. */
  readonly pixel?: PixelElement;
  /** Whether the data set has a pixel element (also known when only the header was parsed). */
  readonly hasPixelData: boolean;
  /** Extended Offset Table (7FE0,0001) and Extended Offset Table Lengths (7FE0,0002) values, when present. */
  readonly extendedOffsets?: { readonly offsets: Uint8Array; readonly lengths: Uint8Array };
  /** What was read past, in DICOM terms (see ImageMeta.warnings). */
  readonly warnings: ReadonlyArray<string>;
}

/**
 * Parses the container. With `headerOnly`, the walk stops at the pixel data (which is then neither read
 * nor checked), so any transfer syntax can be summarised.
 *
 * @throws DicomDecodeError
 */
export function parseContainer(
  bytes: Uint8Array,
  headerOnly: boolean,
  limits: DecodeLimits = DEFAULT_LIMITS,
): Container {
  const part10 = readPart10(bytes);
  const fileSyntax = part10.transferSyntaxUid ?? guessSyntax(bytes, part10.datasetStart);
  const deflated = fileSyntax === DEFLATED_LE;
  const data = deflated ? inflateDataset(bytes, part10.datasetStart, limits) : bytes;
  const start = deflated ? 0 : part10.datasetStart;
  const walkSyntax = deflated ? EXPLICIT_LE : fileSyntax;
  const syntax = { little: walkSyntax !== EXPLICIT_BE, explicit: walkSyntax !== IMPLICIT_LE };
  const walker = new DatasetWalker(data, syntax, limits, headerOnly, part10.guessedSyntax);
  let walk: WalkResult;
  try {
    walk = walker.walk(start);
  } catch (e) {
    throw walkFailure(e, part10, fileSyntax, walker.topElements);
  }
  // No Transfer Syntax UID, and encapsulated pixel data: the codec's start marker tells the syntax family.
  const transferSyntaxUid = part10.guessedSyntax && walk.pixel?.items
    ? inferEncapsulatedSyntax(walk.pixel.items)
    : fileSyntax;
  if (!headerOnly) checkPixelEncoding(walk.pixel, transferSyntaxUid);
  const attributes = readHeaderAttributes({ bytes: data, syntax: walkSyntax, ...syntax, ...walk });
  return {
    transferSyntaxUid,
    guessedSyntax: part10.guessedSyntax,
    dataset: attributes.dataset,
    whole: attributes.whole,
    pixel: walk.pixel,
    hasPixelData: walk.pixel !== undefined,
    extendedOffsets: walk.extendedOffsets,
    warnings: [
      ...part10.warnings,
      ...guessWarning(part10, transferSyntaxUid),
      ...walk.warnings,
      ...unreadWarnings(attributes),
      ...attributes.warnings,
    ],
  };
}

/** A file meta group without its Transfer Syntax UID (Type 1): say which syntax the data set was read as. */
function guessWarning(part10: Part10, uid: string): string[] {
  if (!part10.guessedSyntax || part10.layout === "bare data set") return [];
  return [
    `The file meta information has no Transfer Syntax UID (0002,0010), a Type 1 element; the data set was ` +
    `read as ${
      syntaxLabel(uid)
    }, which its first elements show (dcmodify -i "(0002,0010)=<uid>" fixes the file).`,
  ];
}

/** Damaged elements: a warning each, unless the pixels cannot be interpreted without them. */
function unreadWarnings(attributes: HeaderAttributes): string[] {
  const needed = attributes.unread.filter((u: UnreadElement) => PIXEL_INTERPRETATION_TAGS.has(u.span.tag));
  if (needed.length > 0) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `Damaged DICOM data: ${
        needed.map((u) => u.why).join("; ")
      }. The pixel data cannot be interpreted without ` +
        `${needed.length > 1 ? "these elements" : "it"}, so the image is not decoded; ask the sender for a ` +
        "valid copy.",
    );
  }
  return attributes.unread.map((u) => `${u.why}; the element was skipped (the pixel module is intact).`);
}

/** A walk failure, reworded for files whose syntax was guessed or that have no file meta. */
function walkFailure(e: unknown, part10: Part10, syntax: string, read: number): unknown {
  if (!(e instanceof DicomDecodeError) || e instanceof FatalDecodeError) return e;
  // A bare data set is told from other bytes by its first elements: two read whole, or one read whole and
  // the file ending inside the next (a truncated file without file meta is TRUNCATED, not NOT_DICOM).
  const cutShort = e.code === "TRUNCATED" && read >= 1;
  if (part10.layout === "bare data set" && read < 2 && !cutShort) {
    return new DicomDecodeError(
      "NOT_DICOM",
      `Not a DICOM file: there is no "DICM" prefix at byte 128, and the bytes do not read as a bare DICOM ` +
        `data set either (${e.message})`,
    );
  }
  if (part10.guessedSyntax && e.code === "INVALID_DICOM") {
    return new DicomDecodeError(
      "INVALID_DICOM",
      `The file meta information has no Transfer Syntax UID (0002,0010), and the data set does not read as ` +
        `${syntaxLabel(syntax)} either: ${e.message}`,
    );
  }
  return e;
}

/** Encapsulated pixel data needs an encapsulated syntax, and the reverse. */
function checkPixelEncoding(pixel: PixelElement | undefined, uid: string): void {
  const encapsulated = isEncapsulated(uid);
  if (pixel?.items && encapsulated === false) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `Pixel Data has an undefined length (encapsulated fragments), but the transfer syntax ` +
        `${syntaxLabel(uid)} is not an encapsulated one: the Transfer Syntax UID in the file ` +
        "meta is probably wrong. Fix it (e.g. with `dcmodify`/`gdcmconv`) or ask the sender for a valid file.",
    );
  }
  if (pixel?.tag === "PixelData" && !pixel.items && encapsulated === true) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `Pixel Data has a defined length (native, uncompressed), but the transfer syntax ` +
        `${syntaxLabel(uid)} requires encapsulated fragments: the Transfer Syntax UID in the ` +
        "file meta is probably wrong. Fix it (e.g. with `dcmodify`/`gdcmconv`) or ask the sender.",
    );
  }
}
