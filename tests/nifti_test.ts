/**
 * `write nifti`: the NIfTI-1 header read back field by field (offsets from nifti1.h), the geometry against
 * the pydicom/numpy affine and against dcm2niix's (tests/fixtures/series/dcm2niix.json, compared in nibabel's
 * closest canonical orientation, as dcm2niix stores the rows flipped), the values, gzip, and the data types.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { Effect } from "effect";
import type { Image } from "../core/tensor.ts";
import { decode } from "../plugins/decode/mod.ts";
import { encodeNifti, encodeNiftiGz, VOX_OFFSET } from "../plugins/write/nifti.ts";
import { maxAbsDiff } from "./helpers.ts";

const DIR = "tests/fixtures/series";
const expected = JSON.parse(readFileSync(`${DIR}/expected.json`, "utf8")).cases;
const dcm2niix = JSON.parse(readFileSync(`${DIR}/dcm2niix.json`, "utf8")).oblique;

/** The volume `decode` makes of a fixture series. */
const volume = async (c: string): Promise<Image> => {
  const g = decode.group!;
  const files = readdirSync(`${DIR}/${c}`).sort().map((n) => ({
    path: `${DIR}/${c}/${n}`,
    bytes: new Uint8Array(readFileSync(`${DIR}/${c}/${n}`)),
  }));
  const scanned = await Effect.runPromise(
    Effect.forEach(files, (f) => Effect.map(g.scan(f, {}), (record) => ({ path: f.path, record }))),
  );
  const [group] = g.partition(scanned, {}, "series");
  const members = group.members.map((m) => files.find((f) => f.path === m)!);
  return await Effect.runPromise(g.runGroup(members, group, {}));
};

/** The header fields of a NIfTI-1 file, read at nifti1.h's offsets. */
const readHeader = (bytes: Uint8Array) => {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const f32s = (at: number, n: number) => Array.from({ length: n }, (_, i) => v.getFloat32(at + 4 * i, true));
  return {
    sizeofHdr: v.getInt32(0, true),
    regular: String.fromCharCode(bytes[38]),
    dim: Array.from({ length: 8 }, (_, i) => v.getInt16(40 + 2 * i, true)),
    datatype: v.getInt16(70, true),
    bitpix: v.getInt16(72, true),
    pixdim: f32s(76, 8),
    voxOffset: v.getFloat32(108, true),
    sclSlope: v.getFloat32(112, true),
    sclInter: v.getFloat32(116, true),
    xyztUnits: bytes[123],
    calMax: v.getFloat32(124, true),
    calMin: v.getFloat32(128, true),
    descrip: new TextDecoder().decode(bytes.subarray(148, 228)).replace(/\0.*$/s, ""),
    qformCode: v.getInt16(252, true),
    sformCode: v.getInt16(254, true),
    quatern: f32s(256, 3),
    qoffset: f32s(268, 3),
    srow: f32s(280, 12),
    magic: Array.from(bytes.subarray(344, 348)),
    extension: Array.from(bytes.subarray(348, 352)),
  };
};

/** The qform as a 3x4 matrix (nifti1.h: R from the quaternion, times diag(dx, dy, qfac * dz), plus offset). */
const qformMatrix = (h: ReturnType<typeof readHeader>): number[] => {
  const [b, c, d] = h.quatern;
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const [qfac, dx, dy, dz] = h.pixdim;
  const s = [dx, dy, qfac * dz];
  return [0, 1, 2].flatMap((i) => [r[i][0] * s[0], r[i][1] * s[1], r[i][2] * s[2], h.qoffset[i]]);
};

/** nibabel's `as_closest_canonical`: axes permuted and flipped so that i, j, k point R, A, S. */
const canonical = (srow: number[], shape: number[]) => {
  const col = (j: number) => [srow[j], srow[4 + j], srow[8 + j]];
  const out = new Array(12).fill(0);
  const origin = [srow[3], srow[7], srow[11]];
  const map: Array<{ axis: number; flip: boolean }> = [];
  for (let j = 0; j < 3; j++) {
    const c = col(j);
    const axis = c.map(Math.abs).indexOf(Math.max(...c.map(Math.abs)));
    const flip = c[axis] < 0;
    for (let i = 0; i < 3; i++) {
      out[i * 4 + axis] = flip ? -c[i] : c[i];
      if (flip) origin[i] += c[i] * (shape[j] - 1);
    }
    map.push({ axis, flip });
  }
  for (let i = 0; i < 3; i++) out[i * 4 + 3] = origin[i];
  return { affine: out, map };
};

/** LPS affine (row-major 4x4) -> the 12 numbers of the RAS srow block. */
const rasRows = (lps: number[]) => lps.slice(0, 12).map((x, i) => (i < 8 ? -x : x));

Deno.test("nifti header, byte by byte: the oblique series as int16 with its rescale, RAS sform and qform", async () => {
  const image = await volume("oblique");
  const bytes = encodeNifti(image);
  const h = readHeader(bytes);
  assert.equal(h.sizeofHdr, 348);
  assert.deepEqual(h.magic, [0x6e, 0x2b, 0x31, 0x00]);
  assert.deepEqual(h.extension, [0, 0, 0, 0]);
  assert.equal(h.voxOffset, VOX_OFFSET);
  assert.equal(h.regular, "r");
  assert.deepEqual(h.dim, [3, 32, 24, 10, 1, 1, 1, 1]);
  assert.equal(h.datatype, 4, "int16 (DT_SIGNED_SHORT): the file's stored type");
  assert.equal(h.bitpix, 16);
  assert.equal(h.sclSlope, 1);
  assert.equal(h.sclInter, -1024);
  assert.equal(h.xyztUnits, 2, "millimetres");
  assert.equal(h.qformCode, 1);
  assert.equal(h.sformCode, 1);
  assert.match(h.descrip, /^dcmflow stored values \(CT\)$/);
  const spacing = expected.oblique.spacing as number[];
  assert.ok(maxAbsDiff(h.pixdim.slice(1, 4), [spacing[1], spacing[0], spacing[2]]) < 1e-5);
  assert.equal(h.pixdim[0], 1, "qfac");
  // sform: the pydicom/numpy affine converted LPS -> RAS (float32 in the file).
  assert.ok(maxAbsDiff(h.srow, rasRows(expected.oblique.affine)) < 1e-4);
  // qform: the same geometry (no shear here).
  assert.ok(
    maxAbsDiff(qformMatrix(h), h.srow) < 1e-4,
    `qform vs sform ${maxAbsDiff(qformMatrix(h), h.srow)}`,
  );
  assert.equal(bytes.length, VOX_OFFSET + 10 * 24 * 32 * 2);
  const data = new Int16Array(bytes.slice(VOX_OFFSET).buffer);
  assert.deepEqual(Array.from(data), Array.from(image.data));
});

Deno.test("nifti geometry equals dcm2niix's for the oblique series (closest canonical orientation)", async () => {
  const image = await volume("oblique");
  const h = readHeader(encodeNifti(image));
  const shape = [h.dim[1], h.dim[2], h.dim[3]];
  const mine = canonical(h.srow, shape);
  const theirs = (dcm2niix.canonicalAffine as number[]).slice(0, 12);
  const d = maxAbsDiff(mine.affine, theirs);
  assert.ok(d < 1e-4, `canonical affine differs from dcm2niix's by ${d}`);
  // Same values at the same canonical voxels (scaled as a NIfTI reader scales them).
  for (const probe of dcm2niix.probes as Array<{ index: number[]; value: number }>) {
    const idx = [0, 1, 2].map((j) => {
      const { axis, flip } = mine.map[j];
      return flip ? shape[j] - 1 - probe.index[axis] : probe.index[axis];
    });
    const stored = image.data[(idx[2] * shape[1] + idx[1]) * shape[0] + idx[0]];
    assert.equal(stored * h.sclSlope + h.sclInter, probe.value, `voxel ${probe.index}`);
  }
  assert.equal(dcm2niix.datatype, h.datatype);
  assert.equal(dcm2niix.sclInter, h.sclInter);
});

Deno.test("nifti: a gantry-tilted series keeps its shear in the sform; the qform is its polar rotation", async () => {
  const image = await volume("tilt");
  const h = readHeader(encodeNifti(image));
  assert.ok(maxAbsDiff(h.srow, rasRows(expected.tilt.affine)) < 1e-4);
  assert.ok(Math.abs(h.pixdim[3] - expected.tilt.spacing[2]) < 1e-5, "pixdim[3]: the step length");
  assert.deepEqual([h.qoffset[0], h.qoffset[1], h.qoffset[2]], [h.srow[3], h.srow[7], h.srow[11]]);
  // The qform's rotation Q is the orthogonal factor of the sform's direction matrix R (columns normalised,
  // the third times qfac): Q^T R is then symmetric, the defining property of the polar decomposition. The
  // quaternion is stored as float32 and this rotation is near 180 degrees (a ~ 0), so 1e-3.
  const q = qformMatrix(h);
  const col = (m: number[], j: number, s: number) => [m[j] / s, m[4 + j] / s, m[8 + j] / s];
  const sizes = h.pixdim.slice(1, 4);
  const Q = [0, 1, 2].map((j) => col(q, j, j === 2 ? h.pixdim[0] * sizes[j] : sizes[j]));
  const R = [0, 1, 2].map((j) => col(h.srow, j, j === 2 ? h.pixdim[0] * sizes[j] : sizes[j]));
  const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      assert.ok(Math.abs(dot(Q[i], Q[j]) - (i === j ? 1 : 0)) < 1e-3, "Q is orthonormal");
      assert.ok(Math.abs(dot(Q[i], R[j]) - dot(Q[j], R[i])) < 1e-3, "Q^T R is symmetric");
    }
  }
  assert.ok(maxAbsDiff(q, h.srow) > 0.1, "the qform cannot hold the shear");
});

Deno.test("nifti: gzip by CompressionStream round-trips to the same bytes", async () => {
  const image = await volume("enhanced");
  const gz = await encodeNiftiGz(image);
  assert.deepEqual(Array.from(gz.subarray(0, 2)), [0x1f, 0x8b]);
  const back = new Uint8Array(
    await new Response(
      new Blob([gz as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")),
    ).arrayBuffer(),
  );
  assert.deepEqual(back, encodeNifti(image));
});

Deno.test("nifti: display values are float32 with the window's range as cal_min/cal_max", async () => {
  const v = await volume("oblique");
  const data = v.data.map((x) => x / 4096);
  const image: Image = { ...v, kind: "display", data, notes: { window: { range: { ymin: 0, ymax: 1 } } } };
  const bytes = encodeNifti(image);
  const h = readHeader(bytes);
  assert.equal(h.datatype, 16);
  assert.equal(h.bitpix, 32);
  assert.deepEqual([h.sclSlope, h.sclInter, h.calMin, h.calMax], [1, 0, 0, 1]);
  assert.deepEqual(new Float32Array(bytes.slice(VOX_OFFSET).buffer), data);
});

Deno.test("nifti: stored values that are no longer whole numbers are float32 (scaling kept in the meta)", async () => {
  const v = await volume("oblique");
  const image: Image = { ...v, data: v.data.map((x) => x + 0.25) };
  const h = readHeader(encodeNifti(image));
  assert.deepEqual([h.datatype, h.sclSlope, h.sclInter], [16, 1, 0]);
});

Deno.test("nifti: several channels become the 4th axis, channels slowest", async () => {
  const v = await volume("enhanced");
  const [slices, , rows, cols] = v.shape;
  const plane = rows * cols;
  const data = new Float32Array(slices * 2 * plane).map((_, i) => i);
  const image: Image = { ...v, kind: "features", shape: [slices, 2, rows, cols], data };
  const bytes = encodeNifti(image);
  const h = readHeader(bytes);
  assert.deepEqual(h.dim, [4, cols, rows, slices, 2, 1, 1, 1]);
  const out = new Float32Array(bytes.slice(VOX_OFFSET).buffer);
  // NIfTI (i, j, k, t=1) = tensor [k, 1, j, i].
  const k = 3;
  assert.equal(out[(1 * slices + k) * plane + 5], data[(k * 2 + 1) * plane + 5]);
});

Deno.test("nifti outside group: series: a single slice has its geometry, a bare image none", async () => {
  const bytes = new Uint8Array(readFileSync("samples/ct-study/slice-001.dcm"));
  const image = await Effect.runPromise(decode.run({ path: "s.dcm", bytes }, {}));
  const h = readHeader(encodeNifti(image));
  assert.equal(h.sformCode, 1);
  assert.deepEqual(h.pixdim.slice(1, 4), [
    image.meta.pixelSpacing![1],
    image.meta.pixelSpacing![0],
    image.meta.sliceThickness!,
  ]);
  const ipp = image.meta.imagePositionPatient!;
  assert.ok(maxAbsDiff([h.srow[3], h.srow[7], h.srow[11]], [-ipp[0], -ipp[1], ipp[2]]) < 1e-4);
  const { imagePositionPatient: _p, ...meta } = image.meta;
  const bare = readHeader(encodeNifti({ ...image, meta }));
  assert.deepEqual([bare.qformCode, bare.sformCode], [0, 0]);
});
