/**
 * {@link ImageMeta} from a parsed container: geometry, pixel module, Modality LUT, VOI LUT, palette, and
 * the facts of enhanced multi-frame objects (shared or identical per-frame functional groups).
 *
 * @module
 */
import type { FrameRescale, FrameVoi, ImageMeta, WindowValue } from "./meta.ts";
import type { Container } from "./container.ts";
import { DicomDecodeError } from "./errors.ts";
import { defineLazyDataset } from "./lazy_dataset.ts";
import { parseLut } from "./lut.ts";
import { realWorldOf } from "./realworld.ts";
import { checkFrameCount } from "./frames.ts";
import { EXPLICIT_BE } from "./syntaxes.ts";
import { int, items, num, nums, str, strs } from "./values.ts";

/**
 * The header facts of a parsed file.
 *
 * @throws DicomDecodeError INVALID_DICOM when the Image Pixel module is incomplete, MISSING_PIXEL_DATA when
 *   it is absent together with the pixel data
 */
export function buildMeta(parsed: Container): ImageMeta {
  const ds = parsed.dataset;
  const { floatPixelData, ...pixel } = pixelModule(parsed);
  const meta: Omit<ImageMeta, "dataset"> = {
    transferSyntaxUid: parsed.transferSyntaxUid,
    sopClassUid: str(ds.SOPClassUID),
    sopInstanceUid: str(ds.SOPInstanceUID),
    studyInstanceUid: str(ds.StudyInstanceUID),
    seriesInstanceUid: str(ds.SeriesInstanceUID),
    modality: str(ds.Modality),
    ...pixel,
    ...lookupTables(ds, pixel.pixelRepresentation, parsed.transferSyntaxUid === EXPLICIT_BE, pixel.frames),
    ...realWorldOf(ds, pixel.pixelRepresentation, pixel.frames),
    ...geometry(ds),
    decodedPhotometric: decodedPhotometric(pixel.photometric),
    palette: pixel.photometric === "PALETTE COLOR"
      ? paletteSummary(ds, pixel.pixelRepresentation)
      : undefined,
    floatPixelData,
    warnings: parsed.warnings.length > 0 ? parsed.warnings : undefined,
  };
  // Drop undefined optional fields so the object prints cleanly.
  for (const k of Object.keys(meta) as (keyof typeof meta)[]) {
    if (meta[k] === undefined) delete (meta as unknown as Record<string, unknown>)[k];
  }
  // the data set alone is kept for later, never the file's bytes (the pixel element is a view into them)
  const whole = parsed.whole;
  defineLazyDataset(meta, () => datasetCopy(whole()), ds);
  return meta as ImageMeta;
}

/**
 * `ImageMeta.dataset`: `{ ...dataset }` of the whole data set, copied from the plain object behind its Proxy
 * where there is one (naturalize.ts), without pixel elements.
 */
function datasetCopy(whole: ReturnType<Container["whole"]>): Record<string, unknown> {
  const dataset: Record<string, unknown> = { ...(whole.target ?? whole.dataset) };
  delete dataset.PixelData;
  delete dataset.FloatPixelData;
  delete dataset.DoubleFloatPixelData;
  return dataset;
}

/** The Image Pixel module: size, frames, samples, bits, sign, colour model. */
type PixelModule = Pick<
  ImageMeta,
  | "photometric"
  | "rows"
  | "cols"
  | "frames"
  | "samplesPerPixel"
  | "bitsAllocated"
  | "bitsStored"
  | "highBit"
  | "pixelRepresentation"
  | "planarConfiguration"
  | "floatPixelData"
>;

function pixelModule(parsed: Container): PixelModule {
  const ds = parsed.dataset;
  const rows = int(ds.Rows);
  const cols = int(ds.Columns);
  const pixelTag = parsed.pixel?.tag;
  const floatPixelData = pixelTag === "FloatPixelData"
    ? "float32"
    : pixelTag === "DoubleFloatPixelData"
    ? "float64"
    : undefined;
  const bitsAllocated = int(ds.BitsAllocated) ??
    (floatPixelData === "float32" ? 32 : floatPixelData === "float64" ? 64 : undefined);
  const missing = [
    rows === undefined ? "Rows (0028,0010)" : "",
    cols === undefined ? "Columns (0028,0011)" : "",
    bitsAllocated === undefined ? "BitsAllocated (0028,0100)" : "",
  ].filter((s) => s !== "");
  if (missing.length > 0) {
    if (!parsed.hasPixelData) throw missingPixelData(ds);
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `The Image Pixel module is incomplete: ${missing.join(", ")} ${missing.length > 1 ? "are" : "is"} ` +
        `missing or invalid, so the Pixel Data cannot be interpreted.`,
    );
  }
  if (rows! <= 0 || cols! <= 0) {
    throw new DicomDecodeError("INVALID_DICOM", `Invalid image size: ${rows} rows x ${cols} columns.`);
  }
  const framesValue = ds.NumberOfFrames;
  const frames = framesValue === undefined || framesValue === null || framesValue === ""
    ? 1
    : int(framesValue);
  if (frames === undefined || frames < 1) {
    throw new DicomDecodeError("INVALID_DICOM", `Invalid NumberOfFrames ${JSON.stringify(framesValue)}.`);
  }
  const samplesPerPixel = int(ds.SamplesPerPixel) ?? 1;
  const bitsStored = int(ds.BitsStored) ?? bitsAllocated!;
  const photometric = (str(ds.PhotometricInterpretation) ?? (samplesPerPixel === 3 ? "RGB" : "MONOCHROME2"))
    .trim().toUpperCase().replace(/\s+/g, " ");
  const planar = int(ds.PlanarConfiguration);
  return {
    photometric,
    rows: rows!,
    cols: cols!,
    frames,
    samplesPerPixel,
    bitsAllocated: bitsAllocated!,
    bitsStored,
    highBit: int(ds.HighBit) ?? bitsStored - 1,
    pixelRepresentation: int(ds.PixelRepresentation) ?? 0,
    planarConfiguration: planar ?? (samplesPerPixel > 1 ? 0 : undefined),
    floatPixelData,
  };
}

/**
 * Modality LUT (rescale or LUT sequence) and VOI LUT (windows, LUT sequence, function), shared or per frame:
 * attributes at the top level first, else the shared functional group, else the first frame's - with every
 * frame's own in `frameRescale` / `frameVoi` when the frames differ.
 */
function lookupTables(
  ds: Record<string, unknown>,
  pixelRepresentation: number,
  bigEndian: boolean,
  frames: number,
) {
  const topRescale = ds.RescaleSlope !== undefined || ds.RescaleIntercept !== undefined;
  const rescaleSource = topRescale ? ds : firstFrameGroup(ds, "PixelValueTransformationSequence") ?? ds;
  const topVoi = ds.WindowCenter !== undefined || ds.VOILUTSequence !== undefined;
  const voiSource = topVoi ? ds : firstFrameGroup(ds, "FrameVOILUTSequence") ?? ds;
  // A VOI LUT table applies only when every frame has the same (no per-frame tables: see frameVoiOf).
  const lutSource = topVoi ? ds : functionalGroup(ds, "FrameVOILUTSequence") ?? ds;
  const lutOpts = { pixelRepresentation, bigEndian };
  const modalityItems = items(ds.ModalityLUTSequence);
  const voiItems = items(lutSource.VOILUTSequence);
  return {
    rescaleSlope: num(rescaleSource.RescaleSlope) ?? 1,
    rescaleIntercept: num(rescaleSource.RescaleIntercept) ?? 0,
    frameRescale: topRescale ? undefined : frameRescaleOf(ds, frames),
    rescaleType: str(rescaleSource.RescaleType),
    modalityLut: modalityItems.length > 0 ? parseLut(modalityItems[0], "Modality LUT", lutOpts) : undefined,
    windows: parseWindows(voiSource),
    frameVoi: topVoi ? undefined : frameVoiOf(ds, frames),
    voiLuts: voiItems.length > 0 ? voiItems.map((it) => parseLut(it, "VOI LUT", lutOpts)) : undefined,
    voiLutFunction: str(voiSource.VOILUTFunction)?.toUpperCase(),
    presentationLutShape: str(ds.PresentationLUTShape)?.toUpperCase(),
  };
}

/**
 * Each frame's item of a functional group macro: its own (per-frame functional groups), else the shared one.
 * Undefined without per-frame functional groups or when no frame has the macro.
 */
function frameGroups(
  ds: Record<string, unknown>,
  macro: string,
): Array<Record<string, unknown> | undefined> | undefined {
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence);
  if (perFrame.length === 0) return undefined;
  const shared = items(items(ds.SharedFunctionalGroupsSequence)[0]?.[macro])[0];
  const groups = perFrame.map((f) => items(f[macro])[0] ?? shared);
  return groups.some((g) => g !== undefined) ? groups : undefined;
}

/** Every frame's RescaleSlope/Intercept, when the frames of an enhanced multi-frame object differ in them. */
function frameRescaleOf(ds: Record<string, unknown>, frames: number): FrameRescale | undefined {
  const macro = "PixelValueTransformationSequence";
  const groups = frameGroups(ds, macro);
  if (!groups) return undefined;
  const slopes = groups.map((g) => num(g?.RescaleSlope) ?? 1);
  const intercepts = groups.map((g) => num(g?.RescaleIntercept) ?? 0);
  if (slopes.every((s) => s === slopes[0]) && intercepts.every((b) => b === intercepts[0])) return undefined;
  const what = "RescaleSlope/RescaleIntercept values";
  checkFrameCount(groups, frames, macro, what);
  const missing = groups.findIndex((g) => g === undefined);
  if (missing >= 0) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `frame ${
        missing + 1
      } of ${frames} has no ${macro} (per frame or shared), while the other frames give ` +
        `different ${what}: its Modality LUT is unknown. Add the frame's Pixel Value Transformation.`,
    );
  }
  return { slopes, intercepts };
}

/**
 * Every frame's windows and VOI LUT function, when the frames of an enhanced multi-frame object differ (a
 * frame without the macro has none).
 */
function frameVoiOf(ds: Record<string, unknown>, frames: number): ReadonlyArray<FrameVoi> | undefined {
  const macro = "FrameVOILUTSequence";
  const groups = frameGroups(ds, macro);
  if (!groups) return undefined;
  const voi = groups.map((g): FrameVoi => {
    const fn = str(g?.VOILUTFunction)?.toUpperCase();
    return fn ? { windows: parseWindows(g ?? {}), voiLutFunction: fn } : { windows: parseWindows(g ?? {}) };
  });
  const first = JSON.stringify(voi[0]);
  if (voi.every((v) => JSON.stringify(v) === first)) return undefined;
  checkFrameCount(groups, frames, macro, "windows");
  return voi; // a frame without the macro has no window: `window` with `from: dicom` says so for it
}

/** Pixel spacing, slice thickness, position and orientation of the first frame, instance number. */
function geometry(ds: Record<string, unknown>) {
  const measures = functionalGroup(ds, "PixelMeasuresSequence");
  const spacing = nums(ds.PixelSpacing ?? measures?.PixelSpacing);
  const position = nums(
    ds.ImagePositionPatient ?? firstFrameGroup(ds, "PlanePositionSequence")?.ImagePositionPatient,
  );
  const orientation = nums(
    ds.ImageOrientationPatient ?? firstFrameGroup(ds, "PlaneOrientationSequence")?.ImageOrientationPatient,
  );
  return {
    pixelSpacing: spacing && spacing.length >= 2 ? [spacing[0], spacing[1]] as const : undefined,
    sliceThickness: num(ds.SliceThickness ?? measures?.SliceThickness),
    imagePositionPatient: position && position.length >= 3
      ? [position[0], position[1], position[2]] as const
      : undefined,
    imageOrientationPatient: orientation && orientation.length >= 6
      ? [
        orientation[0],
        orientation[1],
        orientation[2],
        orientation[3],
        orientation[4],
        orientation[5],
      ] as const
      : undefined,
    instanceNumber: int(ds.InstanceNumber),
  };
}

/** Every WindowCenter/WindowWidth pair, with its explanation. */
function parseWindows(src: Record<string, unknown>): WindowValue[] {
  const centers = nums(src.WindowCenter) ?? [];
  const widths = nums(src.WindowWidth) ?? [];
  const explanations = strs(src.WindowCenterWidthExplanation);
  const out: WindowValue[] = [];
  const n = Math.min(centers.length, widths.length);
  for (let i = 0; i < n; i++) {
    const explanation = explanations[i];
    out.push(
      explanation
        ? { center: centers[i], width: widths[i], explanation }
        : { center: centers[i], width: widths[i] },
    );
  }
  return out;
}

/** The macro item from SharedFunctionalGroupsSequence, else from per-frame groups when all frames agree. */
function functionalGroup(ds: Record<string, unknown>, macro: string): Record<string, unknown> | undefined {
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  const fromShared = shared ? items(shared[macro])[0] : undefined;
  if (fromShared) return fromShared;
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence).map((f) => items(f[macro])[0]);
  if (perFrame.length === 0 || perFrame.some((x) => x === undefined)) return undefined;
  const first = JSON.stringify(perFrame[0]);
  return perFrame.every((x) => JSON.stringify(x) === first) ? perFrame[0] : undefined;
}

/** The macro item that applies to the first frame. */
function firstFrameGroup(ds: Record<string, unknown>, macro: string): Record<string, unknown> | undefined {
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  const fromShared = shared ? items(shared[macro])[0] : undefined;
  if (fromShared) return fromShared;
  const frame = items(ds.PerFrameFunctionalGroupsSequence)[0];
  return frame ? items(frame[macro])[0] : undefined;
}

/** What decode outputs for a stored photometric interpretation: RGB for every colour model. */
export function decodedPhotometric(photometric: string): string {
  return photometric === "MONOCHROME1" || photometric === "MONOCHROME2" ? photometric : "RGB";
}

/** The palette descriptor, for summaries (the tables are read when decoding). */
function paletteSummary(ds: Record<string, unknown>, pixelRepresentation: number): ImageMeta["palette"] {
  const d = nums(ds.RedPaletteColorLookupTableDescriptor);
  if (!d || d.length < 3) return undefined;
  const firstMapped = pixelRepresentation === 1 && d[1] >= 0x8000 ? d[1] - 0x10000 : d[1];
  const segmented = ds.RedPaletteColorLookupTableData === undefined &&
    ds.SegmentedRedPaletteColorLookupTableData !== undefined;
  return { entries: d[0] === 0 ? 65536 : d[0], firstMapped, bits: d[2], segmented };
}

/** No pixel element at all: say whether the file looks like an image that lost its pixels. */
export function missingPixelData(ds: Record<string, unknown>): DicomDecodeError {
  const sop = str(ds.SOPClassUID);
  const looksLikeImage = ds.Rows !== undefined && ds.Columns !== undefined;
  const sopText = sop ? ` (SOP Class ${sop})` : "";
  return new DicomDecodeError(
    "MISSING_PIXEL_DATA",
    looksLikeImage
      ? `The DICOM file has image attributes (Rows, Columns) but no Pixel Data (7FE0,0010)${sopText}. ` +
        "Either it was truncated right before the pixel data (compare its size with the original) or the " +
        "sender stripped the pixels; there is nothing to decode."
      : `The DICOM file has no Pixel Data (7FE0,0010)${sopText}, so there is nothing to decode: either it ` +
        "is not an image (e.g. a structured report, presentation state or DICOMDIR) or it was truncated " +
        "before the pixel data (compare its size with the original).",
  );
}
