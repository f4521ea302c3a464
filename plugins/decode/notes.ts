/**
 * What `decode` records about a file, and its errors as stage errors.
 *
 * @module
 */
import { DicomDecodeError, type ImageMeta, SeriesError, TRANSFER_SYNTAXES } from "../../dicom/mod.ts";
import { StageError } from "../../plugin.ts";

/** A reader error (decode or series) as a stage error with the same code. */
export const toStageError = (e: unknown) =>
  e instanceof DicomDecodeError || e instanceof SeriesError
    ? new StageError({ code: e.code, message: e.message })
    : new StageError({
      code: "INVALID_DICOM",
      message: `cannot decode: ${e instanceof Error ? e.message : e}`,
    });

/** What `decode` records about a file (with the reader's warnings: what it read past, and how). */
export const decodeNotes = (meta: ImageMeta) => ({
  transferSyntax: TRANSFER_SYNTAXES.get(meta.transferSyntaxUid)?.name ?? meta.transferSyntaxUid,
  codec: meta.codec,
  ...(meta.colourConversion ? { colour: meta.colourConversion } : {}),
  ...(meta.warnings ? { warnings: meta.warnings } : {}),
});
