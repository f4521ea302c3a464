/**
 * The data element tags the reader itself looks at, by their PS3.6 keywords, as 32-bit numbers
 * `0xGGGGEEEE`, and how they are written in messages (`(7FE0,0010) PixelData`).
 *
 * @module
 */

/** The tags the reader interprets (the rest of the data set is read for the attribute values: dcmjs.ts). */
export const TAG = {
  FileMetaInformationGroupLength: 0x00020000,
  TransferSyntaxUID: 0x00020010,
  SpecificCharacterSet: 0x00080005,
  SamplesPerPixel: 0x00280002,
  PhotometricInterpretation: 0x00280004,
  PlanarConfiguration: 0x00280006,
  NumberOfFrames: 0x00280008,
  Rows: 0x00280010,
  Columns: 0x00280011,
  BitsAllocated: 0x00280100,
  BitsStored: 0x00280101,
  HighBit: 0x00280102,
  PixelRepresentation: 0x00280103,
  WindowCenter: 0x00281050,
  WindowWidth: 0x00281051,
  RescaleIntercept: 0x00281052,
  RescaleSlope: 0x00281053,
  RescaleType: 0x00281054,
  RedPaletteColorLookupTableDescriptor: 0x00281101,
  GreenPaletteColorLookupTableDescriptor: 0x00281102,
  BluePaletteColorLookupTableDescriptor: 0x00281103,
  RedPaletteColorLookupTableData: 0x00281201,
  GreenPaletteColorLookupTableData: 0x00281202,
  BluePaletteColorLookupTableData: 0x00281203,
  SegmentedRedPaletteColorLookupTableData: 0x00281221,
  SegmentedGreenPaletteColorLookupTableData: 0x00281222,
  SegmentedBluePaletteColorLookupTableData: 0x00281223,
  ModalityLUTSequence: 0x00283000,
  VOILUTSequence: 0x00283010,
  VOILUTFunction: 0x00281056,
  PresentationLUTShape: 0x20500020,
  SharedFunctionalGroupsSequence: 0x52009229,
  PerFrameFunctionalGroupsSequence: 0x52009230,
  ExtendedOffsetTable: 0x7fe00001,
  ExtendedOffsetTableLengths: 0x7fe00002,
  FloatPixelData: 0x7fe00008,
  DoubleFloatPixelData: 0x7fe00009,
  PixelData: 0x7fe00010,
  Item: 0xfffee000,
  ItemDelimitationItem: 0xfffee00d,
  SequenceDelimitationItem: 0xfffee0dd,
} as const;

/** The keyword of a tag the reader knows by name. */
export type TagKeyword = keyof typeof TAG;

const KEYWORDS: ReadonlyMap<number, string> = new Map(Object.entries(TAG).map(([k, v]) => [v, k]));

/** The pixel elements (PS3.3 C.7.6.3): which one a data set's pixels are in. */
export const PIXEL_TAGS: ReadonlyMap<number, "PixelData" | "FloatPixelData" | "DoubleFloatPixelData"> =
  new Map(
    [
      [TAG.PixelData, "PixelData"],
      [TAG.FloatPixelData, "FloatPixelData"],
      [TAG.DoubleFloatPixelData, "DoubleFloatPixelData"],
    ] as const,
  );

/**
 * Attributes the stored values cannot be interpreted without (Image Pixel module, frames, Modality and VOI
 * LUT, palette, functional groups that carry them): when one of them is damaged the image is not decoded,
 * rather than decoded with a default in its place.
 */
export const PIXEL_INTERPRETATION_TAGS: ReadonlySet<number> = new Set([
  TAG.SamplesPerPixel,
  TAG.PhotometricInterpretation,
  TAG.PlanarConfiguration,
  TAG.NumberOfFrames,
  TAG.Rows,
  TAG.Columns,
  TAG.BitsAllocated,
  TAG.BitsStored,
  TAG.HighBit,
  TAG.PixelRepresentation,
  TAG.WindowCenter,
  TAG.WindowWidth,
  TAG.RescaleIntercept,
  TAG.RescaleSlope,
  TAG.RedPaletteColorLookupTableDescriptor,
  TAG.GreenPaletteColorLookupTableDescriptor,
  TAG.BluePaletteColorLookupTableDescriptor,
  TAG.RedPaletteColorLookupTableData,
  TAG.GreenPaletteColorLookupTableData,
  TAG.BluePaletteColorLookupTableData,
  TAG.SegmentedRedPaletteColorLookupTableData,
  TAG.SegmentedGreenPaletteColorLookupTableData,
  TAG.SegmentedBluePaletteColorLookupTableData,
  TAG.ModalityLUTSequence,
  TAG.VOILUTSequence,
  TAG.VOILUTFunction,
  TAG.PresentationLUTShape,
  TAG.SharedFunctionalGroupsSequence,
  TAG.PerFrameFunctionalGroupsSequence,
  TAG.ExtendedOffsetTable,
  TAG.ExtendedOffsetTableLengths,
]);

/** The group number of a tag. */
export const groupOf = (tag: number): number => tag >>> 16;

/** `(GGGG,EEEE)`. */
export function tagText(tag: number): string {
  const hex4 = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
  return `(${hex4(tag >>> 16)},${hex4(tag & 0xffff)})`;
}

/** `(GGGG,EEEE) Keyword` for the tags above, `(GGGG,EEEE)` (plus `private` for odd groups) otherwise. */
export function tagName(tag: number): string {
  const keyword = KEYWORDS.get(tag);
  if (keyword) return `${tagText(tag)} ${keyword}`;
  return groupOf(tag) % 2 === 1 ? `private ${tagText(tag)}` : tagText(tag);
}
