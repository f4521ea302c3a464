/**
 * VOI LUT functions of DICOM PS3.3 C.11.2.1.2-3, on the CPU.
 *
 * These are the reference implementations the GPU kernels are checked against.
 *
 * @module
 */

/** VOI LUT function names as in the pipeline file (VOILUTFunction lower-cased). */
export type VoiFunction = "linear" | "linear_exact" | "sigmoid";

/** Output range of a window. */
export interface VoiRange {
  readonly ymin: number;
  readonly ymax: number;
}

/** Parses a VOILUTFunction attribute value; undefined when absent or unknown. */
export const voiFunctionFromDicom = (value: string | undefined): VoiFunction | undefined => {
  switch (value?.trim().toUpperCase()) {
    case "LINEAR":
      return "linear";
    case "LINEAR_EXACT":
      return "linear_exact";
    case "SIGMOID":
      return "sigmoid";
    default:
      return undefined;
  }
};

/** LINEAR (C.11.2.1.2.1): c' = c - 0.5, w' = w - 1. Requires w >= 1. */
export const linear = (x: number, c: number, w: number, { ymin, ymax }: VoiRange): number => {
  const c1 = c - 0.5;
  const w1 = w - 1;
  if (x <= c1 - w1 / 2) return ymin;
  if (x > c1 + w1 / 2) return ymax;
  return ((x - c1) / w1 + 0.5) * (ymax - ymin) + ymin;
};

/** LINEAR_EXACT (C.11.2.1.3.2). Requires w > 0. */
export const linearExact = (x: number, c: number, w: number, { ymin, ymax }: VoiRange): number => {
  if (x <= c - w / 2) return ymin;
  if (x > c + w / 2) return ymax;
  return ((x - c) / w + 0.5) * (ymax - ymin) + ymin;
};

/** SIGMOID (C.11.2.1.3.1). Requires w > 0. */
export const sigmoid = (x: number, c: number, w: number, { ymin, ymax }: VoiRange): number =>
  (ymax - ymin) / (1 + Math.exp((-4 * (x - c)) / w)) + ymin;

/** The smallest width each function accepts (LINEAR needs w >= 1, the others w > 0). */
export const minimumWidth = (fn: VoiFunction): number => (fn === "linear" ? 1 : Number.MIN_VALUE);

/** A window to apply to a whole tensor. */
export interface VoiWindow {
  readonly center: number;
  readonly width: number;
  readonly fn: VoiFunction;
  readonly range: VoiRange;
  /** MONOCHROME1 / Presentation LUT INVERSE: y' = ymax + ymin - y after the VOI function. */
  readonly invert: boolean;
}

/** The window as a function of one value (the VOI function, then the inversion when asked). */
export const windowFunction = (win: VoiWindow): (x: number) => number => {
  const f = win.fn === "linear" ? linear : win.fn === "linear_exact" ? linearExact : sigmoid;
  const { center, width, range } = win;
  const flip = win.invert ? range.ymax + range.ymin : 0;
  const sign = win.invert ? -1 : 1;
  return (x) => flip + sign * f(x, center, width, range);
};

/** Applies a window to every value of `src` into a new array. */
export const applyWindow = (src: Float32Array, win: VoiWindow): Float32Array => {
  const out = new Float32Array(src.length);
  const f = windowFunction(win);
  for (let i = 0; i < src.length; i++) out[i] = f(src[i]);
  return out;
};

/** Applies a VOI lookup table (VOI LUT Sequence item) scaled to the output range. */
export const applyVoiLut = (
  src: Float32Array,
  lut: { readonly firstMapped: number; readonly bits: number; readonly data: ArrayLike<number> },
  range: VoiRange,
  invert: boolean,
): Float32Array => {
  const out = new Float32Array(src.length);
  const last = lut.data.length - 1;
  const scale = (range.ymax - range.ymin) / (2 ** lut.bits - 1);
  for (let i = 0; i < src.length; i++) {
    const k = Math.min(last, Math.max(0, Math.round(src[i]) - lut.firstMapped));
    const y = lut.data[k] * scale + range.ymin;
    out[i] = invert ? range.ymax + range.ymin - y : y;
  }
  return out;
};
