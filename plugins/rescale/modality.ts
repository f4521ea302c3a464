/**
 * Modality LUT (DICOM PS3.3 C.11.1) on the CPU: stored values -> modality units.
 *
 * @module
 */
import type { LutTable } from "../../plugin.ts";

/** out = slope * stored + intercept. */
export const applyRescale = (src: Float32Array, slope: number, intercept: number): Float32Array => {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = slope * src[i] + intercept;
  return out;
};

/**
 * Modality LUT Sequence: values below the first mapped value take entry 0, values past the table the last
 * entry.
 */
export const applyModalityLut = (src: Float32Array, lut: LutTable): Float32Array => {
  const out = new Float32Array(src.length);
  const last = lut.data.length - 1;
  for (let i = 0; i < src.length; i++) {
    const k = Math.min(last, Math.max(0, Math.round(src[i]) - lut.firstMapped));
    out[i] = lut.data[k];
  }
  return out;
};
