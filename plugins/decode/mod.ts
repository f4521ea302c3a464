/**
 * `decode`: a DICOM Part 10 file -> stored pixel values `[frames, channels, rows, cols]` and metadata.
 *
 * BitsStored masking and sign extension are applied (garbage above HighBit never reaches the tensor);
 * transfer syntaxes that are not supported yet fail with `UNSUPPORTED_TRANSFER_SYNTAX`, naming the syntax.
 *
 * @module
 */
import { Effect, Schema } from "effect";
import { StageError } from "../../core/errors.ts";
import { defineStage } from "../../core/stage.ts";
import { decodeDicom, DicomDecodeError } from "./dicom.ts";

const Params = Schema.Struct({});

/** The `decode` stage. */
export const decode = defineStage({
  name: "decode",
  description: "DICOM Part 10 file -> stored pixel values [frames, channels, rows, cols] + metadata",
  params: Params,
  accepts: "file",
  produces: "stored",
  run: (file) =>
    Effect.try({
      try: () => {
        const { meta, data } = decodeDicom(file.bytes);
        return {
          kind: "stored" as const,
          shape: [meta.frames, meta.samplesPerPixel, meta.rows, meta.cols] as const,
          data,
          meta,
          notes: {},
        };
      },
      catch: (e) =>
        e instanceof DicomDecodeError
          ? new StageError({ code: e.code, message: e.message })
          : new StageError({
            code: "INVALID_DICOM",
            message: `cannot decode: ${e instanceof Error ? e.message : e}`,
          }),
    }),
});
