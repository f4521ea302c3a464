/**
 * The output size of `resample`: from a target spacing, `round(n * s / s')` per axis (at least 1), or a
 * target shape; `keep` leaves an axis as it is.
 *
 * @module
 */
import type { ImageMeta } from "../../plugin.ts";
import type { Size3 } from "./geometry.ts";

/** A target along one axis: millimetres (spacing) or voxels (shape), or `keep`. */
export type AxisTarget = number | "keep";

/** The `resample` parameters that decide the size. */
export interface SizeParams {
  readonly spacing?: number | readonly [AxisTarget, AxisTarget, AxisTarget];
  readonly shape?: readonly [AxisTarget, AxisTarget, AxisTarget];
}

/** The target spacing `[z, y, x]` of the params (a single number means the same on every axis). */
export const targetSpacing = (p: SizeParams): readonly [AxisTarget, AxisTarget, AxisTarget] | undefined =>
  typeof p.spacing === "number" ? [p.spacing, p.spacing, p.spacing] : p.spacing;

/**
 * The output size `[slices, rows, cols]` of a volume of size `from` with `meta`, or why there is none (a
 * target spacing needs the volume's spacing: `group: series`).
 */
export function outputSize(p: SizeParams, from: Size3, meta: ImageMeta): Size3 | string {
  if (p.shape) {
    return [0, 1, 2].map((i) => (p.shape![i] === "keep" ? from[i] : p.shape![i])) as unknown as Size3;
  }
  const target = targetSpacing(p)!;
  if (target.every((t) => t === "keep")) return from;
  const spacing = meta.volume?.spacing;
  if (!spacing) {
    return "resampling to a spacing needs the volume's voxel spacing, which only a series has: run the " +
      "pipeline with `group: series` (or --group series), or give a target `shape:` instead";
  }
  // volume.spacing is [row, col, slice]; targets are [z, y, x].
  const current = [spacing[2], spacing[0], spacing[1]];
  return [0, 1, 2].map((i) => {
    const t = target[i];
    return t === "keep" ? from[i] : Math.max(1, Math.round((from[i] * current[i]) / t));
  }) as unknown as Size3;
}
