/**
 * The DICOM reader: a subsystem of its own, in plain TypeScript (no Effect, no Deno or Node APIs), usable
 * without the rest of dcmflow.
 *
 * - {@link readHeader}: the header facts of a Part 10 file (or a bare data set) as {@link ImageMeta}.
 * - {@link decodeDicomAsync} / {@link decodeDicom}: stored pixel values `[frames, channels, rows, cols]`
 *   (float32, planar), every standard image transfer syntax, colour always as RGB.
 * - {@link readRawPixels}: the stored words of an uncompressed image as they are in the file, for callers
 *   that unpack them themselves (dcmflow's fused CPU and GPU paths); {@link decodeRawPixelsAsync}: the same
 *   for a compressed grayscale image, or colour its codec turns into RGB, as the codec gives them.
 * - {@link unpackRaw} / {@link rawWords}: those words as stored values (the decoder's own unpacker).
 * - Series -> volumes ({@link partitionSeries}, {@link assembleVolume}, series.ts): grouping by
 *   SeriesInstanceUID, splits where the geometry differs, slices ordered along the slice normal, missing,
 *   duplicate and irregular slices and gantry tilt found, and the voxel-to-patient affine (geometry.ts).
 * - Every failure is a {@link DicomDecodeError} with a stable code and a message in DICOM terms (series:
 *   {@link SeriesError}); what was read past (a damaged element outside the pixel module, a duplicated
 *   tag, ...) is in `meta.warnings`.
 * - Hostile headers are refused within {@link DEFAULT_LIMITS} (nesting, item and element counts, inflated
 *   size, decoded size), adjustable per call with {@link DecodeOptions}.
 *
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { decodeDicomAsync, readHeader } from "./mod.ts";
 *
 * const bytes = readFileSync("samples/ct-study/slice-001.dcm");
 * console.log(readHeader(bytes).modality); // "CT"
 * const { shape } = await decodeDicomAsync(bytes);
 * console.log(shape); // [1, 1, 512, 512]
 * ```
 *
 * @module
 */
export {
  type DecodedDicom,
  decodeDicom,
  decodeDicomAsync,
  type DecodeErrorCode,
  type DecodeLimits,
  type DecodeOptions,
  decodeRawPixelsAsync,
  DEFAULT_LIMITS,
  DicomDecodeError,
  loadCodecs,
  type PixelEncoding,
  type RawImage,
  readHeader,
  readRawPixels,
  TRANSFER_SYNTAXES,
  type TransferSyntaxInfo,
} from "./decode.ts";
export type {
  FrameRescale,
  FrameVoi,
  ImageMeta,
  LutTable,
  RawPixels,
  RealWorldMapping,
  WindowValue,
} from "./meta.ts";
export { rawWords, unpackRaw, type Words } from "./words.ts";
export { frameMeta } from "./frames.ts";
export {
  type SuvBody,
  suvBodyWeight,
  type SuvErrorCode,
  type SuvFactor,
  suvFactor,
  type SuvResult,
} from "./pet.ts";
export { dateSeconds, dateTimeSeconds, dtSeconds, timeSeconds } from "./datetime.ts";
export type { VolumeGeometry } from "./meta.ts";
export {
  affineColumn,
  LPS_TO_RAS,
  type Mat4,
  multiply,
  sliceNormal,
  type Vec3,
  volumeAffine,
  voxelToPatient,
} from "./geometry.ts";
export {
  type AssembledVolume,
  assembleVolume,
  type DecodedMember,
  type FrameHeader,
  imageGeometry,
  partitionSeries,
  SeriesError,
  type SeriesErrorCode,
  type SeriesGroup,
  type SeriesInput,
  type SeriesSlice,
  type SliceHeader,
  sliceHeader,
} from "./series.ts";
