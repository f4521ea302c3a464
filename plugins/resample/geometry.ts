/**
 * What resampling does to a volume's geometry.
 *
 * With `align_corners=False`, PyTorch maps output index `j` of an axis to the input's continuous index
 * `(j + 0.5) * n / n' - 0.5`: the resampled volume covers the same extent, from the outer face of the first
 * input voxel to the outer face of the last (`-0.5` to `n - 0.5` in input indices). So along an axis whose
 * affine column is `a` (direction times spacing) and whose size goes from `n` to `n'`, with `f = n / n'`:
 *
 * - the new column is `a * f` (the spacing becomes `s * n / n'`, exactly the requested spacing when
 *   `n * s / s'` is a whole number, and the nearest one that keeps the extent otherwise);
 * - the first voxel's centre, output index 0, lies at input index `0.5 * f - 0.5`, so the origin moves by
 *   `a * (f - 1) / 2`: half the difference between the new and the old spacing, along the axis.
 *
 * The nearest mode (PyTorch's `nearest-exact`) samples the input voxel that holds each output voxel's
 * centre, so the same geometry describes it.
 *
 * @module
 */
import type { ImageMeta, VolumeGeometry } from "../../plugin.ts";

/** Sizes `[slices, rows, cols]`. */
export type Size3 = readonly [number, number, number];

/**
 * The geometry of a volume resampled from `from` to `to` (both `[slices, rows, cols]`). The slices no longer
 * correspond to source images when their number changes: `sopInstanceUids` is then empty.
 */
export function resampledGeometry(g: VolumeGeometry, from: Size3, to: Size3): VolumeGeometry {
  const a = [...g.affine];
  // Affine column 0 is the column (x) axis, 1 the row (y) axis, 2 the slice (z) axis.
  const factors = [from[2] / to[2], from[1] / to[1], from[0] / to[0]];
  for (let j = 0; j < 3; j++) {
    const f = factors[j];
    for (let r = 0; r < 3; r++) {
      const col = g.affine[r * 4 + j];
      a[r * 4 + 3] += (col * (f - 1)) / 2;
      a[r * 4 + j] = col * f;
    }
  }
  return {
    affine: a,
    spacing: [g.spacing[0] * factors[1], g.spacing[1] * factors[0], g.spacing[2] * factors[2]],
    sopInstanceUids: from[0] === to[0] ? g.sopInstanceUids : [],
  };
}

/** The metadata of a resampled volume: its geometry, and PixelSpacing and the first position to match. */
export function resampledMeta(meta: ImageMeta, from: Size3, to: Size3): ImageMeta {
  if (!meta.volume) return meta;
  const volume = resampledGeometry(meta.volume, from, to);
  const a = volume.affine;
  return {
    ...meta,
    volume,
    pixelSpacing: [volume.spacing[0], volume.spacing[1]],
    imagePositionPatient: [a[3], a[7], a[11]],
  };
}
