/**
 * PET standardized uptake value, body weight (SUVbw): the factor that turns a PET image's activity
 * concentration (Bq/ml, after the Modality LUT) into g/ml, read from its header as the QIBA vendor-neutral
 * pseudo-code does (QIBA PET/CT Technical Committee, "Standardized Uptake Value (SUV)"):
 *
 *     SUVbw = value × weight[g] / dose at scan start[Bq]
 *     dose at scan start = RadionuclideTotalDose × 2^(−(scan start − injection) / RadionuclideHalfLife)
 *
 * - Units (0054,1001) `BQML`, images corrected for attenuation and decay (CorrectedImage (0028,0051) holds
 *   `ATTN` and `DECY`). DecayCorrection (0054,1102) `START`: decayed from the injection to the scan start,
 *   SeriesDate/SeriesTime - unless the series time is after this image's AcquisitionDate/Time (a series
 *   processed again, whose scan start is the earliest acquisition time of the series, which one file does not
 *   know: refused). `ADMIN`: the images are corrected to the injection, the dose is not decayed.
 * - The injection: RadiopharmaceuticalStartDateTime (0018,1078), else RadiopharmaceuticalStartTime
 *   (0018,1072) on the series date, of the first Radiopharmaceutical Information Sequence item.
 * - Units `GML`: the values are SUVbw already (factor 1).
 * - Enhanced PET Image Storage keeps these facts elsewhere (units in RescaleType, the decay reference in
 *   DecayCorrectionDateTime): refused, saying so.
 * - Anything else (counts, other units, decay correction NONE, a missing weight, dose or half-life, an
 *   injection after the scan start) is refused with a message that names the attribute: an SUV computed from
 *   a guess looks as right as a true one.
 *
 * @module
 */
import { dateTimeSeconds, dtSeconds, formatDuration } from "./datetime.ts";
import { items, num, str, strs } from "./values.ts";

/** Why a file's SUV cannot be computed. */
export type SuvErrorCode = "NOT_PET" | "PET_UNITS" | "PET_CORRECTION" | "PET_ATTRIBUTE" | "PET_TIMES";

/**
 * What SUV is normalised by: body weight (SUVbw, g/ml), lean body mass (SUL, g/ml; Janmahasatian's formula,
 * as PERCIST recommends: James's, which QIBA's pseudo-code also lists, decreases with weight past a BMI of
 * ~43 for men and reaches 0 at ~86), or body surface area (SUVbsa, cm²/ml; Du Bois's formula).
 */
export type SuvBody = "weight" | "lean" | "bsa";

/** The SUV factor of a PET image and the header facts it comes from. */
export interface SuvFactor {
  /** SUV = value (Bq/ml) × scale (for Units GML: value (SUVbw) × scale). */
  readonly scale: number;
  /** What it is normalised by (body weight unless asked otherwise). */
  readonly body?: SuvBody;
  readonly units: string;
  readonly decayCorrection?: string;
  readonly weightKg?: number;
  readonly injectedDoseBq?: number;
  readonly halfLifeSeconds?: number;
  /** From the injection to the scan start (0 for decay correction ADMIN). */
  readonly decaySeconds?: number;
  /** The dose at the scan start (the injected dose for ADMIN). */
  readonly decayedDoseBq?: number;
  /** PatientSize (0010,1020), for `lean` and `bsa`. */
  readonly heightM?: number;
  /** PatientSex (0010,0040), for `lean`. */
  readonly sex?: "M" | "F";
  readonly leanBodyMassKg?: number;
  readonly bodySurfaceM2?: number;
}

/** The SUVbw factor, or why there is none. */
export type SuvResult =
  | { readonly ok: true; readonly factor: SuvFactor }
  | { readonly ok: false; readonly code: SuvErrorCode; readonly message: string };

/** Enhanced PET Image Storage: its SUV facts are elsewhere (functional groups, Enhanced PET Corrections). */
const ENHANCED_PET = "1.2.840.10008.5.1.4.1.1.130";

const refuse = (code: SuvErrorCode, message: string): SuvResult => ({ ok: false, code, message });

/** A positive number from an attribute, or the refusal naming it. */
const positive = (v: unknown, name: string, what: string): number | SuvResult => {
  const n = num(v);
  if (n !== undefined && n > 0) return n;
  const found = v === undefined || v === null || v === "" ? "is missing" : `is ${JSON.stringify(v)}`;
  return refuse("PET_ATTRIBUTE", `${name} ${found}: SUV needs ${what}. Without it no SUV can be computed.`);
};

/**
 * The SUVbw factor of a PET image from its data set (naturalized attribute names, as `ImageMeta.dataset`).
 */
export function suvBodyWeight(ds: Readonly<Record<string, unknown>>): SuvResult {
  const modality = str(ds.Modality);
  if (modality !== "PT") {
    return refuse(
      "NOT_PET",
      `SUV is for PET images (Modality PT); this one is ${modality ?? "without Modality"}.`,
    );
  }
  const units = str(ds.Units)?.toUpperCase();
  if (units === undefined && str(ds.SOPClassUID) === ENHANCED_PET) {
    return refuse(
      "PET_UNITS",
      "this is an Enhanced PET image (SOP Class 1.2.840.10008.5.1.4.1.1.130): its units are in the Pixel Value " +
        "Transformation's RescaleType and its decay reference in DecayCorrectionDateTime (0018,9701), which " +
        "are not read for SUV yet. Classic PET Image Storage files of the same series are.",
    );
  }
  if (units === "GML") return { ok: true, factor: { scale: 1, units } };
  if (units !== "BQML") {
    return refuse(
      "PET_UNITS",
      `Units (0054,1001) is ${units ?? "missing"}: SUV is computed from activity concentration in Bq/ml ` +
        "(BQML), or taken as it is from GML. Counts (CNTS) need the vendor's private scale factor, which is not " +
        "read; export the series in BQML from the scanner or PACS.",
    );
  }
  const corrected = strs(ds.CorrectedImage).map((c) => c?.trim().toUpperCase());
  const missing = ["ATTN", "DECY"].filter((c) => !corrected.includes(c));
  if (missing.length > 0) {
    return refuse(
      "PET_CORRECTION",
      `CorrectedImage (0028,0051) is [${corrected.join(", ")}], without ${
        missing.join(" and ")
      }: SUV needs ` +
        "images corrected for attenuation (ATTN) and decay (DECY).",
    );
  }
  const decayCorrection = str(ds.DecayCorrection)?.toUpperCase();
  if (decayCorrection !== "START" && decayCorrection !== "ADMIN") {
    return refuse(
      "PET_CORRECTION",
      `DecayCorrection (0054,1102) is ${decayCorrection ?? "missing"}: SUV is computed for images decay ` +
        "corrected to the scan start (START) or to the injection (ADMIN).",
    );
  }
  const weightKg = positive(ds.PatientWeight, "PatientWeight (0010,1030)", "the patient's weight in kg");
  if (typeof weightKg !== "number") return weightKg;
  const drug = items(ds.RadiopharmaceuticalInformationSequence)[0];
  if (!drug) {
    return refuse(
      "PET_ATTRIBUTE",
      "RadiopharmaceuticalInformationSequence (0054,0016) is missing or empty: SUV needs the injected dose, " +
        "the radionuclide's half-life and the injection time it holds.",
    );
  }
  const dose = positive(
    drug.RadionuclideTotalDose,
    "RadionuclideTotalDose (0018,1074)",
    "the injected dose in Bq",
  );
  if (typeof dose !== "number") return dose;
  const halfLife = positive(
    drug.RadionuclideHalfLife,
    "RadionuclideHalfLife (0018,1075)",
    "the half-life in s",
  );
  if (typeof halfLife !== "number") return halfLife;
  const facts = { units, decayCorrection, weightKg, injectedDoseBq: dose, halfLifeSeconds: halfLife };
  if (decayCorrection === "ADMIN") {
    return {
      ok: true,
      factor: { ...facts, scale: (weightKg * 1000) / dose, decaySeconds: 0, decayedDoseBq: dose },
    };
  }
  const decay = decaySeconds(ds, drug);
  if (typeof decay !== "number") return decay;
  const decayed = dose * 2 ** (-decay / halfLife);
  return {
    ok: true,
    factor: { ...facts, scale: (weightKg * 1000) / decayed, decaySeconds: decay, decayedDoseBq: decayed },
  };
}

/** Seconds from the injection to the scan start (decay correction START), or the refusal saying why not. */
function decaySeconds(
  ds: Readonly<Record<string, unknown>>,
  drug: Record<string, unknown>,
): number | SuvResult {
  const seriesDate = str(ds.SeriesDate);
  const scan = dateTimeSeconds(seriesDate, str(ds.SeriesTime));
  if (scan === undefined) {
    return refuse(
      "PET_TIMES",
      `SeriesDate (0008,0021) ${seriesDate ?? "(missing)"} and SeriesTime (0008,0031) ` +
        `${
          str(ds.SeriesTime) ?? "(missing)"
        } do not give the scan start, which decay correction START refers to.`,
    );
  }
  const acquired = dateTimeSeconds(str(ds.AcquisitionDate), str(ds.AcquisitionTime)) ??
    dtSeconds(str(ds.AcquisitionDateTime));
  if (acquired !== undefined && acquired < scan) {
    return refuse(
      "PET_TIMES",
      `SeriesTime (0008,0031) is ${formatDuration(scan - acquired)} after this image's AcquisitionTime ` +
        "(0008,0032): the series was written again after the scan (post-processing), and the scan start " +
        "decay correction refers to is then the earliest AcquisitionTime of the series, which one file " +
        "cannot know. Restore the original SeriesTime, or use the series as the scanner wrote it.",
    );
  }
  const startDateTime = str(drug.RadiopharmaceuticalStartDateTime);
  const startTime = str(drug.RadiopharmaceuticalStartTime);
  const injected = dtSeconds(startDateTime) ?? dateTimeSeconds(seriesDate, startTime);
  if (injected === undefined) {
    return refuse(
      "PET_TIMES",
      `the injection time is missing or unreadable (RadiopharmaceuticalStartDateTime (0018,1078) ` +
        `${startDateTime ?? "missing"}, RadiopharmaceuticalStartTime (0018,1072) ${
          startTime ?? "missing"
        }): ` +
        "SUV needs it to decay the dose to the scan start.",
    );
  }
  if (injected > scan) {
    const which = dtSeconds(startDateTime) !== undefined
      ? "RadiopharmaceuticalStartDateTime (0018,1078)"
      : "RadiopharmaceuticalStartTime (0018,1072) on the series date";
    return refuse(
      "PET_TIMES",
      `the injection (${which}) is ${
        formatDuration(injected - scan)
      } after the scan start (SeriesDate/SeriesTime): ` +
        "if it was the day before, the file needs RadiopharmaceuticalStartDateTime with its date.",
    );
  }
  return scan - injected;
}

/**
 * The SUV factor normalised by `body` (see {@link SuvBody}): the body-weight factor times the lean body mass
 * (or body surface in cm²) over the weight in g. Lean body mass needs PatientSex M or F, both need PatientSize
 * in metres.
 */
export function suvFactor(ds: Readonly<Record<string, unknown>>, body: SuvBody = "weight"): SuvResult {
  const bw = suvBodyWeight(ds);
  if (!bw.ok || body === "weight") return bw;
  const weightKg = bw.factor.weightKg ??
    positive(ds.PatientWeight, "PatientWeight (0010,1030)", `the patient's weight in kg (SUV by ${body})`);
  if (typeof weightKg !== "number") return weightKg;
  const heightM = num(ds.PatientSize);
  if (heightM === undefined || !(heightM >= 0.3 && heightM <= 2.8)) {
    const given = heightM === undefined ? "is missing" : `is ${heightM}`;
    return refuse(
      "PET_ATTRIBUTE",
      `PatientSize (0010,1020) ${given}: SUV by ${
        body === "lean" ? "lean body mass" : "body surface"
      } needs ` +
        "the patient's height in metres (0.3 to 2.8; a value in centimetres is not taken for one).",
    );
  }
  if (body === "bsa") {
    const bsa = 0.007184 * weightKg ** 0.425 * (heightM * 100) ** 0.725; // Du Bois & Du Bois, m²
    const scale = (bw.factor.scale * bsa * 10_000) / (weightKg * 1000);
    return { ok: true, factor: { ...bw.factor, weightKg, body, heightM, bodySurfaceM2: bsa, scale } };
  }
  const sex = str(ds.PatientSex)?.toUpperCase();
  if (sex !== "M" && sex !== "F") {
    return refuse(
      "PET_ATTRIBUTE",
      `PatientSex (0010,0040) is ${
        sex ?? "missing"
      }: the lean body mass formula (Janmahasatian) differs for ` +
        "men (M) and women (F).",
    );
  }
  const bmi = weightKg / heightM ** 2;
  const lean = sex === "M" ? (9270 * weightKg) / (6680 + 216 * bmi) : (9270 * weightKg) / (8780 + 244 * bmi);
  const scale = (bw.factor.scale * lean) / weightKg;
  return { ok: true, factor: { ...bw.factor, weightKg, body, heightM, sex, leanBodyMassKg: lean, scale } };
}
