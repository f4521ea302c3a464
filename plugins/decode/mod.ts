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
import { decodeDicomAsync, decodeRawPixelsAsync, type RawImage, readRawPixels } from "../../dicom/mod.ts";
import { defineStage, type Image, type RawPixels, type StageError, type Upload } from "../../plugin.ts";
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

/**
 * Decoded stored values as the 16-bit words the fused CPU path and shaders/unpack.wgsl read (planar), when
 * every value is an integer that fits 16 bits: a compressed image then takes the same table lookup as an
 * uncompressed one instead of the stages' functions per value (a 512 x 512 JPEG lossless CT slice through
 * the seed recipe: ~10 -> ~3 ms, mostly the codec now). The words are written over the floats' own buffer
 * (word i's bytes come before float i's: read first). Undefined for floats and wider values: they go on as
 * floats. The words' BitsStored is the file's when the values fit it (tables are shared across a series),
 * else what the values need.
 */
export const storedWords = (
  data: Float32Array,
  bitsStored: number,
  signed: boolean,
): RawPixels | undefined => {
  let min = 0;
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if ((v | 0) !== v) return undefined; // not an integer
    min = v < min ? v : min;
    max = v > max ? v : max;
  }
  if (min < -32768 || max > (min < 0 ? 32767 : 65535)) return undefined;
  const fits = (b: number, s: boolean) =>
    s ? min >= -(2 ** (b - 1)) && max < 2 ** (b - 1) : min >= 0 && max < 2 ** b;
  const wordSigned = min < 0 || (signed && fits(bitsStored, true));
  let bits = bitsStored <= 16 && fits(bitsStored, wordSigned) ? bitsStored : 1;
  while (!fits(bits, wordSigned)) bits++;
  const words = new Uint16Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < data.length; i++) words[i] = data[i]; // modulo 2^16: two's complement for negatives
  return {
    type: "raw",
    bytes: new Uint8Array(data.buffer, data.byteOffset, data.length * 2),
    bitsAllocated: 16,
    bitsStored: bits,
    shift: 0,
    signed: wordSigned,
    byteSwap: false,
    planar: 1,
  };
};

/** The upload of stored words (an uncompressed image's, or a compressed image's from its codec). */
const rawUpload = (raw: RawImage): Upload => ({
  image: { kind: "stored", shape: raw.shape, meta: raw.meta, notes: { decode: decodeNotes(raw.meta) } },
  pixels: raw.raw,
});

/**
 * A compressed image: grayscale, and colour its codec hands on as RGB, as the codec's words (planar); anything
 * else decoded (as words where they fit). Words
 * are memory the decoder made for this upload alone, which the CPU path frees once read (`Upload.owned`) rather
 * than leave to the garbage collector with the other inputs' (1 MB a 512² slice).
 */
const compressedUpload = (bytes: Uint8Array): Effect.Effect<Upload, StageError> =>
  Effect.flatMap(
    Effect.tryPromise({ try: () => decodeRawPixelsAsync(bytes), catch: toStageError }),
    (raw): Effect.Effect<Upload, StageError> =>
      raw ? Effect.succeed({ ...rawUpload(raw), owned: true }) : Effect.map(decodeImage(bytes), (image) => {
        const upload = decodedUpload(image);
        return upload.pixels.type === "raw" ? { ...upload, owned: true } : upload;
      }),
  );

/** The upload of a decoded image: its stored values as words where they fit, else as floats. */
const decodedUpload = ({ data, ...image }: Image): Upload => {
  const meta = image.meta;
  const words = meta ? storedWords(data, meta.bitsStored, meta.pixelRepresentation === 1) : undefined;
  return { image, pixels: words ?? { type: "f32", data } };
};

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
  // shaders/unpack.wgsl; compressed grayscale: its codec's words; everything else is decoded here, and
  // handed on as words where the values fit.
  prepare: (file) =>
    Effect.flatMap(
      Effect.try({ try: () => readRawPixels(file.bytes), catch: toStageError }),
      (raw) => raw ? Effect.succeed(rawUpload(raw)) : compressedUpload(file.bytes),
    ),
});
