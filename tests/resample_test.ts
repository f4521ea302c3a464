/**
 * `resample` against PyTorch (tests/fixtures/resample, made by tests/fixtures/series/make_volume_fixtures.py),
 * its geometry convention, the stage's size rule and errors, and the GPU kernel against the CPU path.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { decodeNpy } from "../core/npy.ts";
import { readBack, storageFrom } from "../core/gpu/kernels.ts";
import { BufferPool } from "../core/gpu/pool.ts";
import type { Image } from "../core/tensor.ts";
import { type Mat4, voxelToPatient } from "../dicom/mod.ts";
import type { ImageMeta, VolumeGeometry } from "../dicom/meta.ts";
import { axisTable, type ResampleMode, resampleVolume } from "../plugins/resample/cpu.ts";
import { resampledGeometry, type Size3 } from "../plugins/resample/geometry.ts";
import { resampleBatch } from "../plugins/resample/gpu.ts";
import { resample } from "../plugins/resample/mod.ts";
import { outputSize } from "../plugins/resample/size.ts";
import { gpuTest, maxAbsDiff, runResult } from "./helpers.ts";

const DIR = new URL("./fixtures/resample/", import.meta.url);
const TOLERANCE = 1e-5;

interface Case {
  readonly name: string;
  readonly size: [number, number, number];
  readonly mode: ResampleMode;
  readonly spacing?: [number, number, number];
  readonly target?: [number, number, number];
}

const manifest = JSON.parse(Deno.readTextFileSync(new URL("cases.json", DIR))) as {
  torch: string;
  cases: Case[];
};

const load = (file: string) => {
  const { shape, data } = decodeNpy(Deno.readFileSync(new URL(file, DIR)));
  assert.ok(data instanceof Float32Array);
  return { shape, data };
};

/** A fixture's input as a volume [D, C, H, W] (fixtures are [C, D, H, W]). */
const asVolume = (x: { shape: number[]; data: Float32Array }) => {
  const [c, d, h, w] = x.shape;
  const out = new Float32Array(x.data.length);
  const plane = h * w;
  for (let ch = 0; ch < c; ch++) {
    for (let z = 0; z < d; z++) {
      out.set(x.data.subarray((ch * d + z) * plane, (ch * d + z + 1) * plane), (z * c + ch) * plane);
    }
  }
  return { shape: [d, c, h, w], data: out };
};

for (const c of manifest.cases) {
  Deno.test(`resample ${c.name} equals torch ${manifest.torch} interpolate within ${TOLERANCE}`, () => {
    const input = asVolume(load(`${c.name}.input.npy`));
    const expected = asVolume(load(`${c.name}.expected.npy`));
    const got = resampleVolume(input.data, input.shape, c.size, c.mode);
    assert.deepEqual(expected.shape, [c.size[0], input.shape[1], c.size[1], c.size[2]]);
    const d = maxAbsDiff(got, expected.data);
    assert.ok(d <= TOLERANCE, `${c.name}: max abs diff ${d}`);
  });
}

/** A volume geometry with distinct spacings and an oblique direction. */
const GEOMETRY: VolumeGeometry = {
  // columns: x step (0.7 mm), y step (0.8 mm), slice step (2.5 mm), origin
  affine: [
    0.7 * 0.8,
    -0.8 * 0.6,
    0,
    -12.3,
    0.7 * 0.6,
    0.8 * 0.8,
    0,
    20.1,
    0,
    0,
    2.5,
    30.7,
    0,
    0,
    0,
    1,
  ],
  spacing: [0.8, 0.7, 2.5],
  sopInstanceUids: ["a", "b", "c"],
};

const metaWith = (volume?: VolumeGeometry): ImageMeta => ({
  transferSyntaxUid: "1.2.840.10008.1.2.1",
  photometric: "MONOCHROME2",
  rows: 20,
  cols: 16,
  frames: 12,
  samplesPerPixel: 1,
  bitsAllocated: 16,
  bitsStored: 16,
  highBit: 15,
  pixelRepresentation: 1,
  rescaleSlope: 1,
  rescaleIntercept: 0,
  windows: [],
  dataset: {},
  ...(volume ? { volume } : {}),
});

Deno.test("resample: the output size is round(n * s / s') per axis, keep leaves an axis alone", () => {
  const spacingCase = manifest.cases.find((c) => c.spacing)!;
  const meta = metaWith({
    ...GEOMETRY,
    spacing: [spacingCase.spacing![1], spacingCase.spacing![2], spacingCase.spacing![0]],
  });
  const input = load(`${spacingCase.name}.input.npy`);
  const from: Size3 = [input.shape[1], input.shape[2], input.shape[3]];
  assert.deepEqual(outputSize({ spacing: spacingCase.target }, from, meta), spacingCase.size);
  // [12, 20, 16] at [2.5, 0.8, 0.7] mm: 12 * 2.5 / 1 = 30; 20 * 0.8 / 2 = 8; x kept.
  assert.deepEqual(outputSize({ spacing: [1, 2, "keep"] }, [12, 20, 16], meta), [30, 8, 16]);
  assert.deepEqual(outputSize({ spacing: 1 }, [12, 20, 16], meta), [30, 16, 11]);
  assert.deepEqual(outputSize({ shape: [5, "keep", 7] }, [12, 20, 16], meta), [5, 20, 7]);
  // Never below one voxel.
  assert.deepEqual(outputSize({ spacing: [100, 100, 100] }, [12, 20, 16], meta), [1, 1, 1]);
  assert.match(String(outputSize({ spacing: 1 }, [12, 20, 16], metaWith())), /group: series/);
});

/** Patient position of a continuous voxel index (column, row, slice). */
const at = (a: Mat4, c: number, r: number, s: number) => voxelToPatient(a, c, r, s);

Deno.test("resample geometry: align_corners=False keeps the extent; each centre maps where torch samples", () => {
  const from: Size3 = [3, 20, 16];
  const to: Size3 = [8, 13, 11];
  const g = resampledGeometry(GEOMETRY, from, to);
  const a = GEOMETRY.affine;
  const b = g.affine;
  // The outer corners of the volume (index -0.5 and n - 0.5 on every axis) do not move.
  for (const [c, r, s] of [[-0.5, -0.5, -0.5], [from[2] - 0.5, from[1] - 0.5, from[0] - 0.5]]) {
    const scaled = [
      (c + 0.5) * to[2] / from[2] - 0.5,
      (r + 0.5) * to[1] / from[1] - 0.5,
      (s + 0.5) * to[0] / from[0] - 0.5,
    ];
    const d = maxAbsDiff(at(a, c, r, s), at(b, scaled[0], scaled[1], scaled[2]));
    assert.ok(d < 1e-9, `corner moved by ${d}`);
  }
  // Output voxel j's centre lies at the input's continuous index (j + 0.5) * n / n' - 0.5 (torch's rule).
  for (const j of [0, 3, 7]) {
    const src = (k: number, n: number, m: number) => (k + 0.5) * n / m - 0.5;
    const want = at(a, src(j % 11, 16, 11), src(j % 13, 20, 13), src(j, 3, 8));
    assert.ok(maxAbsDiff(at(b, j % 11, j % 13, j), want) < 1e-9);
  }
  // The axes' tables agree with the geometry: a linear ramp along x resamples to the ramp at the new centres.
  const ramp = Float32Array.from({ length: 16 }, (_, i) => i);
  const t = axisTable(16, 11, "linear");
  for (let j = 1; j < 10; j++) {
    const v = t.l0[j] * ramp[t.i0[j]] + t.l1[j] * ramp[t.i1[j]];
    assert.ok(Math.abs(v - ((j + 0.5) * 16 / 11 - 0.5)) < 1e-5);
  }
  assert.deepEqual(
    g.spacing.map((s) => +s.toFixed(9)),
    [0.8 * 20 / 13, 0.7 * 16 / 11, 2.5 * 3 / 8].map((s) => +s.toFixed(9)),
  );
  assert.deepEqual(g.sopInstanceUids, [], "slices no longer match source images");
  assert.deepEqual(resampledGeometry(GEOMETRY, from, [3, 10, 8]).sopInstanceUids, ["a", "b", "c"]);
});

const image = (shape: number[], meta: ImageMeta): Image => ({
  kind: "modality",
  shape,
  data: Float32Array.from({ length: shape.reduce((x, y) => x * y, 1) }, (_, i) => Math.sin(i)),
  meta,
  notes: {},
});

Deno.test("resample stage: updates the volume's geometry and records the spacing it reached", async () => {
  const meta = metaWith({ ...GEOMETRY, spacing: [0.8, 0.7, 2.5] });
  const r = await runResult(resample.run!(image([3, 1, 20, 16], meta), { spacing: [1, 1, 1] }));
  assert.equal(r._tag, "Success");
  const out = (r as { success: Image }).success;
  assert.deepEqual(out.shape, [8, 1, 16, 11]);
  assert.deepEqual(out.meta.volume, resampledGeometry(meta.volume!, [3, 20, 16], [8, 16, 11]));
  assert.deepEqual(out.meta.pixelSpacing, [out.meta.volume!.spacing[0], out.meta.volume!.spacing[1]]);
  const notes = out.notes.resample as { spacing: number[]; requested: number[] };
  assert.deepEqual(notes.requested, [1, 1, 1]);
  assert.ok(Math.abs(notes.spacing[0] - 7.5 / 8) < 1e-12);
});

Deno.test("resample stage: a spacing without a volume geometry is a coded per-input error", async () => {
  const r = await runResult(resample.run!(image([3, 1, 20, 16], metaWith()), { spacing: 1 }));
  assert.equal(r._tag, "Failure");
  assert.equal((r as { failure: { code: string } }).failure.code, "RESAMPLE_NO_SPACING");
});

Deno.test("resample plan: spacing or shape, not both; unknown sizes stay unknown", () => {
  const spec = { kind: "modality" as const, frames: 12, channels: 1, rows: 20, cols: 16 };
  assert.match(String(resample.plan!({ spacing: 1, shape: [1, 1, 1] }, spec)), /either/);
  assert.match(String(resample.plan!({}, spec)), /either/);
  assert.deepEqual(resample.plan!({ shape: [4, "keep", 8] }, spec), { ...spec, frames: 4, cols: 8 });
  assert.deepEqual(resample.plan!({ spacing: ["keep", 1, 1] }, spec), { ...spec, rows: null, cols: null });
});

gpuTest(
  "resample kernel equals the CPU path within 1e-5 (linear and nearest, 2 volumes, 2 channels)",
  async (gpu) => {
    const pool = new BufferPool(gpu);
    for (const mode of ["linear", "nearest"] as const) {
      const cases: Array<[number[], Size3]> = [[[6, 2, 10, 9], [4, 15, 9]], [[12, 1, 20, 16], [30, 7, 11]]];
      for (const [shape, to] of cases) {
        const count = 2;
        const n = shape.reduce((a, b) => a * b, 1);
        const input = Float32Array.from({ length: n * count }, (_, i) => Math.abs(Math.sin(i * 0.37)) * 0.9);
        const out = await Effect.runPromise(Effect.gen(function* () {
          const buffer = yield* storageFrom(gpu, input, "in");
          const batch = yield* resampleBatch({ gpu, pool, buffer, shape, count }, to, mode);
          assert.deepEqual(batch.shape, [to[0], shape[1], to[1], to[2]]);
          return yield* readBack(gpu, batch.buffer, count * to[0] * shape[1] * to[1] * to[2] * 4);
        }));
        const m = to[0] * shape[1] * to[1] * to[2];
        for (let b = 0; b < count; b++) {
          const want = resampleVolume(input.subarray(b * n, (b + 1) * n), shape, to, mode);
          const d = maxAbsDiff(out.subarray(b * m, (b + 1) * m), want);
          assert.ok(d <= 1e-5, `${mode} [${shape}] -> [${to}] volume ${b}: ${d}`);
        }
      }
    }
    pool.clear();
  },
);
