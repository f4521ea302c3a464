/**
 * `write nifti`: an image or volume as a gzipped NIfTI-1 file (`.nii.gz`), header written from `nifti1.h`
 * (348 bytes, the 4-byte extension flag, data at offset 352, little endian), gzip by the runtime's
 * `CompressionStream` (Deno, Bun and browsers alike). npm's NIfTI packages read files (nifti-reader-js); none
 * writes them, so the header is written here.
 *
 * - Axes: NIfTI's i, j, k are the tensor's columns, rows and slices (the layout matches, columns fastest); a
 *   tensor with several channels is a 4-D file whose 4th axis is the channel.
 * - Geometry: the volume's affine (`meta.volume`, LPS) converted to RAS, `diag(-1, -1, 1, 1) * A`, in the sform
 *   (exact, shear included) and the qform (the rotation nearest to it as a quaternion, `nifti1_io.c`'s
 *   `nifti_mat44_to_quatern`), both with code 1 (scanner anatomical); `pixdim` is the spacing (the norms of
 *   the affine's columns). A single file outside `group: series` gets its own geometry when it has one
 *   (see `imageGeometry` in dicom/series.ts); without geometry both codes are 0.
 * - Values: `stored` tensors whose values are all whole numbers within the file's own integer type
 *   (BitsAllocated, PixelRepresentation) are written as that type with `scl_slope`/`scl_inter` set to the
 *   RescaleSlope/RescaleIntercept, as dcm2niix does (a reader's scaled values are then modality values);
 *   everything else is float32 with `scl_slope` 1 and `scl_inter` 0 (also stored values under a Modality LUT
 *   Sequence or a RescaleSlope per frame, which `scl_*` cannot say: `rescale` first gives modality values). Display values (after `window`) set
 *   `cal_min`/`cal_max` to the window's output range, so viewers show them as windowed.
 *
 * @module
 */
import { affineColumn, imageGeometry, LPS_TO_RAS, type Mat4, multiply } from "../../dicom/mod.ts";
import type { Image } from "../../plugin.ts";

/** NIfTI-1 data type codes used here (nifti1.h). */
export const NIFTI_TYPES = {
  uint8: { code: 2, bits: 8 },
  int16: { code: 4, bits: 16 },
  int32: { code: 8, bits: 32 },
  float32: { code: 16, bits: 32 },
  uint16: { code: 512, bits: 16 },
  uint32: { code: 768, bits: 32 },
} as const;

/** A NIfTI data type name. */
export type NiftiType = keyof typeof NIFTI_TYPES;

/** The data type and scaling a tensor is written with. */
export interface NiftiValues {
  readonly type: NiftiType;
  readonly sclSlope: number;
  readonly sclInter: number;
}

const RANGES: Record<Exclude<NiftiType, "float32">, readonly [number, number]> = {
  uint8: [0, 255],
  int16: [-32768, 32767],
  int32: [-2147483648, 2147483647],
  uint16: [0, 65535],
  uint32: [0, 4294967295],
};

/** The integer type of the file's stored values, when there is one. */
const storedType = (image: Image): Exclude<NiftiType, "float32"> | undefined => {
  const signed = image.meta.pixelRepresentation === 1;
  switch (image.meta.bitsAllocated) {
    case 8:
      return signed ? undefined : "uint8";
    case 16:
      return signed ? "int16" : "uint16";
    case 32:
      return signed ? "int32" : "uint32";
  }
  return undefined;
};

/** How a tensor's values are written (see the module documentation). */
export function niftiValues(image: Image): NiftiValues {
  // scl_slope/scl_inter hold one Modality LUT: not a Modality LUT Sequence, nor one per frame
  const oneLinear = !image.meta.modalityLut && !image.meta.frameRescale;
  const type = image.kind === "stored" && oneLinear && !image.meta.floatPixelData
    ? storedType(image)
    : undefined;
  if (type) {
    const [lo, hi] = RANGES[type];
    const fits = image.data.every((v) => Number.isInteger(v) && v >= lo && v <= hi);
    if (fits) return { type, sclSlope: image.meta.rescaleSlope, sclInter: image.meta.rescaleIntercept };
  }
  return { type: "float32", sclSlope: 1, sclInter: 0 };
}

/** A 3x3 matrix as rows. */
type M3 = number[][];

const det3 = (m: M3) =>
  m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
  m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);

const inverse3 = (m: M3): M3 => {
  const d = det3(m);
  const c = (r0: number, c0: number, r1: number, c1: number) => m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
  return [
    [c(1, 1, 2, 2) / d, -c(0, 1, 2, 2) / d, c(0, 1, 1, 2) / d],
    [-c(1, 0, 2, 2) / d, c(0, 0, 2, 2) / d, -c(0, 0, 1, 2) / d],
    [c(1, 0, 2, 1) / d, -c(0, 0, 2, 1) / d, c(0, 0, 1, 1) / d],
  ];
};

const rowNorm = (m: M3) => Math.max(...m.map((r) => Math.abs(r[0]) + Math.abs(r[1]) + Math.abs(r[2])));
const colNorm = (m: M3) => rowNorm(m[0].map((_, j) => m.map((r) => r[j])));

/** The orthogonal matrix nearest to `a` (polar decomposition, as nifti1_io.c's mat33_polar). */
function polar(a: M3): M3 {
  let x = a.map((r) => [...r]);
  let dif = 1;
  for (let k = 0; k < 100; k++) {
    const y = inverse3(x);
    let gam = 1;
    if (dif > 0.3) gam = Math.sqrt(Math.sqrt(rowNorm(y) * colNorm(y)) / Math.sqrt(rowNorm(x) * colNorm(x)));
    const z = x.map((r, i) => r.map((v, j) => 0.5 * (gam * v + y[j][i] / gam)));
    dif = z.flat().reduce((s, v, i) => s + Math.abs(v - x.flat()[i]), 0);
    x = z;
    if (dif < 3e-6) break;
  }
  return x;
}

/** True when the columns of `r` are orthonormal (to 1e-6). */
const isOrthonormal = (r: M3): boolean =>
  [0, 1, 2].every((i) =>
    [0, 1, 2].every((j) =>
      Math.abs(r[0][i] * r[0][j] + r[1][i] * r[1][j] + r[2][i] * r[2][j] - (i === j ? 1 : 0)) < 1e-6
    )
  );

/** The qform of a RAS affine: quaternion (b, c, d), offset, qfac and the voxel sizes (nifti_mat44_to_quatern). */
export function quaternOf(m: Mat4) {
  const cols = [0, 1, 2].map((j) => affineColumn(m, j));
  const sizes = cols.map((c) => Math.hypot(c[0], c[1], c[2]) || 1);
  // A zero column becomes the unit vector of its axis (as nifti_mat44_to_quatern does).
  let r: M3 = [0, 1, 2].map((i) => [0, 1, 2].map((j) => (cols[j][i] || (i === j ? 1 : 0)) / sizes[j]));
  if (!isOrthonormal(r)) r = polar(r);
  let qfac = 1;
  if (det3(r) <= 0) {
    qfac = -1;
    for (const row of r) row[2] = -row[2];
  }
  const [[r11, r12, r13], [r21, r22, r23], [r31, r32, r33]] = r;
  let a = r11 + r22 + r33 + 1;
  let b: number, c: number, d: number;
  if (a > 0.5) {
    a = 0.5 * Math.sqrt(a);
    b = (0.25 * (r32 - r23)) / a;
    c = (0.25 * (r13 - r31)) / a;
    d = (0.25 * (r21 - r12)) / a;
  } else {
    const xd = 1 + r11 - (r22 + r33);
    const yd = 1 + r22 - (r11 + r33);
    const zd = 1 + r33 - (r11 + r22);
    if (xd > 1) {
      b = 0.5 * Math.sqrt(xd);
      c = (0.25 * (r12 + r21)) / b;
      d = (0.25 * (r13 + r31)) / b;
      a = (0.25 * (r32 - r23)) / b;
    } else if (yd > 1) {
      c = 0.5 * Math.sqrt(yd);
      b = (0.25 * (r12 + r21)) / c;
      d = (0.25 * (r23 + r32)) / c;
      a = (0.25 * (r13 - r31)) / c;
    } else {
      d = 0.5 * Math.sqrt(zd);
      b = (0.25 * (r13 + r31)) / d;
      c = (0.25 * (r23 + r32)) / d;
      a = (0.25 * (r21 - r12)) / d;
    }
    if (a < 0) [b, c, d] = [-b, -c, -d];
  }
  return { b, c, d, offset: [m[3], m[7], m[11]], qfac, sizes };
}

/** Byte offset of the data (348-byte header + 4-byte extension flag). */
export const VOX_OFFSET = 352;

/** What the header needs besides the values. */
export interface NiftiHeaderInput {
  /** `[slices, channels, rows, cols]`. */
  readonly shape: ReadonlyArray<number>;
  readonly values: NiftiValues;
  /** RAS affine (row-major 4x4), or undefined when the geometry is unknown. */
  readonly affine?: Mat4;
  /** Voxel sizes [i, j, k] when there is no affine. */
  readonly pixdim?: readonly [number, number, number];
  readonly calibration?: readonly [number, number];
  readonly description: string;
}

/** The 352 bytes before the data: the NIfTI-1 header (nifti1.h) and a zero extension flag. */
export function niftiHeader(h: NiftiHeaderInput): Uint8Array {
  const bytes = new Uint8Array(VOX_OFFSET);
  const v = new DataView(bytes.buffer);
  const [slices, channels, rows, cols] = h.shape;
  const type = NIFTI_TYPES[h.values.type];
  v.setInt32(0, 348, true); // sizeof_hdr
  bytes[38] = "r".charCodeAt(0); // regular
  const dim = [channels > 1 ? 4 : 3, cols, rows, slices, channels, 1, 1, 1];
  dim.forEach((d, i) => v.setInt16(40 + 2 * i, d, true));
  v.setInt16(70, type.code, true); // datatype
  v.setInt16(72, type.bits, true); // bitpix
  const q = h.affine ? quaternOf(h.affine) : undefined;
  const sizes = q?.sizes ?? h.pixdim ?? [1, 1, 1];
  [q?.qfac ?? 1, sizes[0], sizes[1], sizes[2], 1, 1, 1, 1].forEach((p, i) =>
    v.setFloat32(76 + 4 * i, p, true)
  );
  v.setFloat32(108, VOX_OFFSET, true); // vox_offset
  v.setFloat32(112, h.values.sclSlope, true);
  v.setFloat32(116, h.values.sclInter, true);
  bytes[123] = 2; // xyzt_units: NIFTI_UNITS_MM
  v.setFloat32(124, h.calibration?.[1] ?? 0, true); // cal_max
  v.setFloat32(128, h.calibration?.[0] ?? 0, true); // cal_min
  bytes.set(new TextEncoder().encode(h.description).subarray(0, 79), 148); // descrip
  if (h.affine && q) {
    v.setInt16(252, 1, true); // qform_code: NIFTI_XFORM_SCANNER_ANAT
    v.setInt16(254, 1, true); // sform_code
    [q.b, q.c, q.d, ...q.offset].forEach((x, i) => v.setFloat32(256 + 4 * i, x, true));
    for (let i = 0; i < 12; i++) v.setFloat32(280 + 4 * i, h.affine[i], true); // srow_x, srow_y, srow_z
  }
  bytes.set([0x6e, 0x2b, 0x31, 0x00], 344); // magic "n+1\0"
  return bytes;
}

/** The values in NIfTI order (channels slowest) as the chosen type, little endian. */
function niftiData(image: Image, type: NiftiType): Uint8Array {
  const [slices, channels, rows, cols] = image.shape;
  const plane = rows * cols;
  let data: Float32Array = image.data;
  if (channels > 1) {
    data = new Float32Array(image.data.length);
    for (let s = 0; s < slices; s++) {
      for (let c = 0; c < channels; c++) {
        data.set(
          image.data.subarray((s * channels + c) * plane, (s * channels + c + 1) * plane),
          (c * slices + s) * plane,
        );
      }
    }
  }
  const typed = type === "float32" ? data : {
    uint8: Uint8Array,
    int16: Int16Array,
    int32: Int32Array,
    uint16: Uint16Array,
    uint32: Uint32Array,
  }[type]
    .from(data);
  // Typed arrays are in the platform's byte order; every platform Deno and Bun run on is little endian.
  return new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
}

/** The window's output range of a display tensor (for cal_min/cal_max). */
const calibration = (image: Image): readonly [number, number] | undefined => {
  if (image.kind !== "display") return undefined;
  const range = (image.notes.window as { range?: { ymin: number; ymax: number } } | undefined)?.range;
  return [range?.ymin ?? 0, range?.ymax ?? 1];
};

/** An image as an uncompressed NIfTI-1 file (`.nii`). */
export function encodeNifti(image: Image): Uint8Array {
  if (image.shape.length !== 4) {
    throw new RangeError(
      `NIfTI needs an image [slices, channels, rows, cols], got [${image.shape.join(", ")}]`,
    );
  }
  const values = niftiValues(image);
  const geometry = imageGeometry(image.meta);
  const ps = image.meta.pixelSpacing;
  const header = niftiHeader({
    shape: image.shape,
    values,
    affine: geometry ? multiply(LPS_TO_RAS, geometry.affine) : undefined,
    pixdim: ps ? [ps[1], ps[0], image.meta.sliceThickness ?? 1] : undefined,
    calibration: calibration(image),
    description: `dcmflow ${image.kind} values${image.meta.modality ? ` (${image.meta.modality})` : ""}`,
  });
  const data = niftiData(image, values.type);
  const out = new Uint8Array(header.length + data.length);
  out.set(header);
  out.set(data, header.length);
  return out;
}

/** gzip with the runtime's CompressionStream. */
export async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(
    new CompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** An image as a gzipped NIfTI-1 file (`.nii.gz`). */
export const encodeNiftiGz = (image: Image): Promise<Uint8Array> => gzip(encodeNifti(image));
