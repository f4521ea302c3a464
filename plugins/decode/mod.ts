/**
 * `decode`: a DICOM Part 10 file -> stored pixel values `[frames, channels, rows, cols]` and metadata.
 *
 * Every standard image transfer syntax (native, deflated, RLE, JPEG 8/12-bit and lossless, JPEG-LS, JPEG 2000,
 * HTJ2K; codecs loaded on first use); BitsStored masking and sign extension are applied (garbage above HighBit
 * never reaches the tensor); colour images come out as RGB. Failures are coded (see dicom/errors.ts); what
 * the reader read past (a damaged element outside the pixel module, a duplicated tag, ...) is in the notes'
 * `warnings` and in `meta.warnings`.
 *
 * With `group: series` (pipeline key, or `--group series`), one input is a series: a volume
 * `[slices, channels, rows, cols]` ordered along the slice normal, with its geometry in `meta.volume`
 * (see series.ts).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { decodeDicomAsync, readRawPixels } from "../../dicom/mod.ts";
import { defineStage, type Image, type StageError, type Upload } from "../../plugin.ts";
import { decodeNotes, toStageError } from "./notes.ts";
import { seriesGrouping } from "./series.ts";

const Params = Schema.Struct({});

/** Decodes a file on the CPU into stored values. */
const decodeImage = (bytes: Uint8Array) =>
  Effect.tryPromise({
    try: async (): Promise<Image> => {
      const { meta, data, shape } = await decodeDicomAsync(bytes);
      return { kind: "stored", shape, data, meta, notes: { decode: decodeNotes(meta) } };
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
  group: seriesGrouping,
  // Uncompressed grayscale/RGB: the file's stored words as they are, unpacked by the fused CPU path or
  // shaders/unpack.wgsl; everything else is decoded here into floats.
  prepare: (file) =>
    Effect.flatMap(
      Effect.try({ try: () => readRawPixels(file.bytes), catch: toStageError }),
      (raw): Effect.Effect<Upload, StageError> =>
        raw
          ? Effect.succeed({
            image: {
              kind: "stored",
              shape: raw.shape,
              meta: raw.meta,
              notes: { decode: decodeNotes(raw.meta) },
            },
            pixels: raw.raw,
          })
          : Effect.map(
            decodeImage(file.bytes),
            ({ data, ...image }) => ({ image, pixels: { type: "f32", data } }),
          ),
    ),
});
