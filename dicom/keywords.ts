/**
 * The attributes dcmflow itself reads from a naturalized data set, by keyword: what header.ts's `buildMeta`
 * (pixel module, Modality LUT, VOI LUT, geometry, UIDs, palette descriptor, functional groups) and
 * `missingPixelData` read, the palette tables decode.ts's colour step reads (lut.ts's `parsePalette`), and
 * the functional groups series.ts's `sliceHeader` reads.
 * Where the native naturalizer can name the data set later (dcmjs.ts's `readHeaderAttributes`), only the
 * elements of these names are named when a file is read; `ImageMeta.dataset` is named when first read.
 *
 * A reader of another attribute there must add its keyword here (tests/lazy_dataset_test.ts compares the
 * metadata read both ways for every fixture, sample and realistic header).
 *
 * @module
 */

const PALETTE = ["Red", "Green", "Blue"].flatMap((c) => [
  `${c}PaletteColorLookupTableDescriptor`,
  `${c}PaletteColorLookupTableData`,
  `Segmented${c}PaletteColorLookupTableData`,
]);

/** The keywords of the attributes read (top level; the items of sequences come whole). */
export const READ_KEYWORDS: ReadonlySet<string> = new Set([
  "SOPClassUID",
  "SOPInstanceUID",
  "StudyInstanceUID",
  "SeriesInstanceUID",
  "Modality",
  "Rows",
  "Columns",
  "NumberOfFrames",
  "SamplesPerPixel",
  "BitsAllocated",
  "BitsStored",
  "HighBit",
  "PixelRepresentation",
  "PhotometricInterpretation",
  "PlanarConfiguration",
  "RescaleSlope",
  "RescaleIntercept",
  "RescaleType",
  "ModalityLUTSequence",
  "WindowCenter",
  "WindowWidth",
  "WindowCenterWidthExplanation",
  "VOILUTSequence",
  "VOILUTFunction",
  "PresentationLUTShape",
  "RealWorldValueMappingSequence",
  "PixelSpacing",
  "SliceThickness",
  "ImagePositionPatient",
  "ImageOrientationPatient",
  "InstanceNumber",
  "SharedFunctionalGroupsSequence",
  "PerFrameFunctionalGroupsSequence",
  ...PALETTE,
]);
