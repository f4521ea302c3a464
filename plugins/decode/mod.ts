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
import type { Image } from "../../core/tensor.ts";
import { decodeDicom, DicomDecodeError } from "./dicom.ts";

const Params = Schema.Struct({});

const toStageError = (e: unknown) =>
  e instanceof DicomDecodeError ? new StageError({ code: e.code, message: e.message }) : new StageError({
    code: "INVALID_DICOM",
    message: `cannot decode: ${e instanceof Error ? e.message : e}`,
  });

/** Decodes a file on the CPU into stored values. */
const decodeImage = (bytes: Uint8Array) =>
  Effect.try({
    try: (): Image => {
      const { meta, data } = decodeDicom(bytes);
      return {
        kind: "stored",
        shape: [meta.frames, meta.samplesPerPixel, meta.rows, meta.cols],
        data,
        meta,
        notes: {},
      };
    },
    catch: toStageError,
  });

/** The `decode` stage. */
export const decode = defineStage({
  name: "decode",
  description: "DICOM Part 10 file -> stored pixel values [frames, channels, rows, cols] + metadata",
  params: Params,
  accepts: "file",
  produces: "stored",
  run: (file) => decodeImage(file.bytes),
  gpu: {
    kind: "source",
    prepare: (file) =>
      Effect.map(
        decodeImage(file.bytes),
        ({ data, ...image }) => ({ image, pixels: { type: "f32", data } as const }),
      ),
  },
});
