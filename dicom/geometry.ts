/**
 * Patient-space geometry of DICOM images (PS3.3 C.7.6.2.1.1): direction cosines, the slice normal, the
 * position of slices along it, and the voxel-to-patient affine of a volume. Plain functions on plain arrays.
 *
 * Coordinates are DICOM's patient coordinates in millimetres, LPS: x grows to the patient's left, y to the
 * posterior, z to the head. ImageOrientationPatient holds the row direction (the direction in which the
 * column index grows along a row) and then the column direction (the direction in which the row index grows
 * down a column).
 *
 * @module
 */

/** A 3-vector. */
export type Vec3 = readonly [number, number, number];

/** A 4x4 matrix, row-major, 16 numbers. */
export type Mat4 = ReadonlyArray<number>;

/** a x b. */
export const cross = (a: Vec3, b: Vec3): Vec3 => [
  a[1] * b[2] - a[2] * b[1],
  a[2] * b[0] - a[0] * b[2],
  a[0] * b[1] - a[1] * b[0],
];

/** a . b. */
export const dot = (a: Vec3, b: Vec3): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];

/** |a|. */
export const norm = (a: Vec3): number => Math.hypot(a[0], a[1], a[2]);

/** a - b. */
export const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];

/** a + b * s. */
export const addScaled = (
  a: Vec3,
  b: Vec3,
  s: number,
): Vec3 => [a[0] + b[0] * s, a[1] + b[1] * s, a[2] + b[2] * s];

/** a * s. */
export const scale = (a: Vec3, s: number): Vec3 => [a[0] * s, a[1] * s, a[2] * s];

/** a / |a| (a zero vector stays zero). */
export const unit = (a: Vec3): Vec3 => {
  const n = norm(a);
  return n === 0 ? a : scale(a, 1 / n);
};

/** The row and column direction cosines of an ImageOrientationPatient value. */
export const orientationVectors = (
  iop: ReadonlyArray<number>,
): { readonly row: Vec3; readonly col: Vec3 } => ({
  row: [iop[0], iop[1], iop[2]],
  col: [iop[3], iop[4], iop[5]],
});

/** The slice normal of an ImageOrientationPatient value: row direction x column direction, unit length. */
export const sliceNormal = (iop: ReadonlyArray<number>): Vec3 => {
  const { row, col } = orientationVectors(iop);
  return unit(cross(row, col));
};

/**
 * Why an ImageOrientationPatient value cannot describe a plane (not six numbers, direction cosines not of
 * unit length, or not perpendicular), or undefined when it can. Tolerance 1e-3, as DS values are rounded.
 */
export const orientationProblem = (iop: ReadonlyArray<number> | undefined): string | undefined => {
  if (!iop || iop.length !== 6 || iop.some((v) => !Number.isFinite(v))) {
    return "ImageOrientationPatient (0020,0037) is missing or not six numbers";
  }
  const { row, col } = orientationVectors(iop);
  if (Math.abs(norm(row) - 1) > 1e-3 || Math.abs(norm(col) - 1) > 1e-3) {
    return `ImageOrientationPatient [${iop.join(", ")}] holds direction cosines that are not of unit length`;
  }
  if (Math.abs(dot(row, col)) > 1e-3) {
    return `ImageOrientationPatient [${iop.join(", ")}]: its row and column directions are not perpendicular`;
  }
  return undefined;
};

/**
 * The voxel-to-patient affine (row-major 4x4, LPS, mm) of a volume: voxel `(c, r, s)` (column, row, slice)
 * lies at `origin + c * colSpacing * rowDir + r * rowSpacing * colDir + s * step`.
 *
 * @param iop ImageOrientationPatient of the slices
 * @param pixelSpacing PixelSpacing: [row spacing (between rows), column spacing (between columns)]
 * @param origin ImagePositionPatient of the first slice (centre of its first voxel)
 * @param step the vector from one slice's position to the next's
 */
export const volumeAffine = (
  iop: ReadonlyArray<number>,
  pixelSpacing: readonly [number, number],
  origin: Vec3,
  step: Vec3,
): Mat4 => {
  const { row, col } = orientationVectors(iop);
  const x = scale(row, pixelSpacing[1]);
  const y = scale(col, pixelSpacing[0]);
  return [
    x[0],
    y[0],
    step[0],
    origin[0],
    x[1],
    y[1],
    step[1],
    origin[1],
    x[2],
    y[2],
    step[2],
    origin[2],
    0,
    0,
    0,
    1,
  ];
};

/** Column `j` (0..3) of a row-major 4x4 matrix, as a 3-vector. */
export const affineColumn = (m: Mat4, j: number): Vec3 => [m[j], m[4 + j], m[8 + j]];

/** Where a voxel index `(c, r, s)` lies in patient coordinates. */
export const voxelToPatient = (m: Mat4, c: number, r: number, s: number): Vec3 => [
  m[0] * c + m[1] * r + m[2] * s + m[3],
  m[4] * c + m[5] * r + m[6] * s + m[7],
  m[8] * c + m[9] * r + m[10] * s + m[11],
];

/** The product a * b of two row-major 4x4 matrices. */
export const multiply = (a: Mat4, b: Mat4): Mat4 => {
  const out = new Array<number>(16).fill(0);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 4; j++) {
      let s = 0;
      for (let k = 0; k < 4; k++) s += a[i * 4 + k] * b[k * 4 + j];
      out[i * 4 + j] = s;
    }
  }
  return out;
};

/** LPS -> RAS (NIfTI's patient frame): x and y change sign. */
export const LPS_TO_RAS: Mat4 = [-1, 0, 0, 0, 0, -1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1];

/** The angle in degrees between two vectors (0 when either is zero). */
export const angleDegrees = (a: Vec3, b: Vec3): number => {
  const na = norm(a);
  const nb = norm(b);
  if (na === 0 || nb === 0) return 0;
  const c = Math.min(1, Math.max(-1, dot(a, b) / (na * nb)));
  return (Math.acos(c) * 180) / Math.PI;
};
