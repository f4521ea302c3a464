/**
 * Real World Value Mapping (PS3.3 C.7.6.16.2.11): how stored values become physical quantities - an ADC map
 * in mm²/s, T1 in ms, PET in Bq/ml or SUV - where the Modality LUT gives none (MR) or another (PET). Each item
 * maps the stored values from RealWorldValueFirstValueMapped to RealWorldValueLastValueMapped, linearly
 * (RealWorldValueSlope/Intercept) or through RealWorldValueLUTData, and names its units
 * (MeasurementUnitsCodeSequence, UCUM).
 *
 * Read at the top level (classic images) or in the Real World Value Mapping functional group of enhanced
 * objects: shared, or per frame - one list for the image when every frame has the same, each frame's when
 * they differ.
 *
 * @module
 */
import { DicomDecodeError } from "./errors.ts";
import { checkFrameCount } from "./frames.ts";
import type { RealWorldMapping } from "./meta.ts";
import { items, num, nums, str } from "./values.ts";

const SEQUENCE = "RealWorldValueMappingSequence";

/** The image's mappings and, when the frames of an enhanced object differ in them, every frame's. */
export function realWorldOf(
  ds: Record<string, unknown>,
  pixelRepresentation: number,
  frames: number,
): {
  realWorld?: ReadonlyArray<RealWorldMapping>;
  frameRealWorld?: ReadonlyArray<ReadonlyArray<RealWorldMapping>>;
} {
  const parse = (list: Record<string, unknown>[]) =>
    list.map((it, i) => parseMapping(it, i, pixelRepresentation));
  const top = items(ds[SEQUENCE]);
  if (top.length > 0) return { realWorld: parse(top) };
  const shared = items(items(ds.SharedFunctionalGroupsSequence)[0]?.[SEQUENCE]);
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence).map((f) => {
    const own = items(f[SEQUENCE]);
    return own.length > 0 ? own : shared;
  });
  if (perFrame.length === 0 || perFrame.every((list) => list.length === 0)) {
    return shared.length > 0 ? { realWorld: parse(shared) } : {};
  }
  const lists = perFrame.map(parse);
  const first = JSON.stringify(lists[0]);
  if (lists.every((l) => JSON.stringify(l) === first)) return { realWorld: lists[0] };
  checkFrameCount(lists, frames, SEQUENCE, "mappings");
  return { realWorld: lists[0], frameRealWorld: lists };
}

/** One Real World Value Mapping item. */
function parseMapping(
  it: Record<string, unknown>,
  index: number,
  pixelRepresentation: number,
): RealWorldMapping {
  const where = `Real World Value Mapping item ${index}`;
  // US or SS as the pixels are: a value read as US is two's complement for signed pixel data
  const signedOf = (v: number | undefined) =>
    v !== undefined && pixelRepresentation === 1 && v >= 0x8000 ? v - 0x10000 : v;
  const firstMapped = signedOf(num(it.RealWorldValueFirstValueMapped));
  const lastMapped = signedOf(num(it.RealWorldValueLastValueMapped));
  if (firstMapped === undefined || lastMapped === undefined || lastMapped < firstMapped) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `${where} has no valid range of stored values (RealWorldValueFirstValueMapped (0040,9216) ` +
        `${it.RealWorldValueFirstValueMapped ?? "missing"}, RealWorldValueLastValueMapped (0040,9211) ` +
        `${it.RealWorldValueLastValueMapped ?? "missing"}).`,
    );
  }
  const slope = num(it.RealWorldValueSlope);
  const intercept = num(it.RealWorldValueIntercept);
  const lut = nums(it.RealWorldValueLUTData);
  const linear = slope !== undefined && intercept !== undefined;
  if (!linear && !(lut && lut.length === lastMapped - firstMapped + 1)) {
    throw new DicomDecodeError(
      "INVALID_DICOM",
      `${where} has neither RealWorldValueSlope (0040,9225) with RealWorldValueIntercept (0040,9224) nor ` +
        `RealWorldValueLUTData (0040,9212) with one value per stored value from ${firstMapped} to ${lastMapped}` +
        (lut ? ` (it has ${lut.length})` : "") + ".",
    );
  }
  const code = items(it.MeasurementUnitsCodeSequence)[0];
  const mapping: RealWorldMapping = {
    firstMapped,
    lastMapped,
    ...(linear ? { slope, intercept } : { lut }),
    units: str(code?.CodeValue),
    unitsMeaning: str(code?.CodeMeaning),
    label: str(it.LUTLabel),
    explanation: str(it.LUTExplanation),
  };
  for (const k of Object.keys(mapping) as (keyof RealWorldMapping)[]) {
    if (mapping[k] === undefined) delete (mapping as unknown as Record<string, unknown>)[k];
  }
  return mapping;
}
