/**
 * Series -> volumes: grouping, order, checks and geometry (dicom/series.ts) against the committed fixtures and
 * the expectations computed independently with pydicom/numpy (tests/fixtures/series/make_volume_fixtures.py).
 * The fixtures' values are a known function of the patient position, so the pixels check order and affine too.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { Effect } from "effect";
import {
  assembleVolume,
  decodeDicomAsync,
  partitionSeries,
  readHeader,
  type SeriesGroup,
  type SeriesInput,
  sliceHeader,
  voxelToPatient,
} from "../dicom/mod.ts";
import type { VolumeGeometry } from "../dicom/meta.ts";
import { decode } from "../plugins/decode/mod.ts";
import { maxAbsDiff } from "./helpers.ts";

const DIR = "tests/fixtures/series";

interface ExpectedGeometry {
  readonly outcome: string;
  readonly sopInstanceUids: string[];
  readonly frames: number[];
  readonly affine: number[];
  readonly spacing: number[];
}

const expected = JSON.parse(readFileSync(`${DIR}/expected.json`, "utf8")).cases as Record<
  string,
  ExpectedGeometry & { code?: string; slices?: number; parts?: number[] }
>;

/** The scanned files of a fixture folder, in file name order (as the runtime walks them). */
const scan = (c: string): SeriesInput[] =>
  readdirSync(`${DIR}/${c}`).sort().map((name) => {
    const path = `${DIR}/${c}/${name}`;
    return { path, header: sliceHeader(readHeader(readFileSync(path))) };
  });

const only = (c: string): SeriesGroup => {
  const groups = partitionSeries(scan(c));
  assert.equal(groups.length, 1, `${c}: one volume`);
  return groups[0];
};

/** hu = 100 + 2x - 3y + 5z: the value the fixture generator wrote at each voxel centre (LPS mm). */
const truth = (p: readonly number[]) => 100 + 2 * p[0] - 3 * p[1] + 5 * p[2];

/** The volume's modality values, and the largest distance from the truth at each voxel's position. */
const checkValues = async (group: SeriesGroup) => {
  const decoded = await Promise.all(group.members.map((m) => decodeDicomAsync(readFileSync(m))));
  const v = assembleVolume(group, decoded);
  const [slices, , rows, cols] = v.shape;
  const g = v.meta.volume!;
  let worst = 0;
  for (let s = 0; s < slices; s++) {
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const stored = v.data[(s * rows + r) * cols + c];
        const hu = v.meta.rescaleSlope * stored + v.meta.rescaleIntercept;
        worst = Math.max(worst, Math.abs(hu - truth(voxelToPatient(g.affine, c, r, s))));
      }
    }
  }
  return { volume: v, worst };
};

const assertGeometry = (c: string, g: VolumeGeometry | undefined) => {
  const e = expected[c];
  assert.ok(g, `${c}: has a geometry`);
  assert.deepEqual(g.sopInstanceUids, e.sopInstanceUids, `${c}: slices ordered along the normal`);
  const d = maxAbsDiff(g.affine, e.affine);
  assert.ok(d < 1e-6, `${c}: affine differs from the pydicom/numpy one by ${d}`);
  assert.ok(maxAbsDiff(g.spacing, e.spacing) < 1e-6, `${c}: spacing ${g.spacing} vs ${e.spacing}`);
};

Deno.test("oblique series with names and InstanceNumber out of order: ordered along the normal", async () => {
  const inputs = scan("oblique");
  // The fixture really is shuffled: neither file names nor InstanceNumber follow the anatomy.
  const group = only("oblique");
  const byName = inputs.map((i) => i.header.sopInstanceUid);
  const byInstance = [...inputs].sort((a, b) => a.header.instanceNumber! - b.header.instanceNumber!)
    .map((i) => i.header.sopInstanceUid);
  assert.notDeepEqual(byName, expected.oblique.sopInstanceUids);
  assert.notDeepEqual(byInstance, expected.oblique.sopInstanceUids);
  assert.notDeepEqual([...byInstance].reverse(), expected.oblique.sopInstanceUids);
  assert.equal(group.error, undefined);
  assert.deepEqual(group.warnings, []);
  assertGeometry("oblique", group.geometry);
  const { worst, volume } = await checkValues(group);
  assert.ok(worst <= 0.5 + 1e-6, `values follow the affine (stored rounding only): ${worst}`);
  assert.deepEqual(volume.shape, [10, 1, 24, 32]);
  assert.equal(volume.rescaledPerSlice, false);
  assert.equal(volume.meta.rescaleIntercept, -1024);
});

Deno.test("a series with a missing slice is reported (SERIES_MISSING_SLICES), naming the files around it", () => {
  const group = only("gap");
  assert.equal(group.error?.code, expected.gap.code);
  assert.match(group.error!.message, /about 1 slice\(s\) missing/);
  assert.match(group.error!.message, /5\.00 mm between .*IM0006\.dcm and .*IM0007\.dcm/);
  assert.equal(group.geometry, undefined);
  assert.equal(group.members.length, 9);
});

Deno.test("two different images at one position: SERIES_DUPLICATE_POSITION", () => {
  const group = only("duplicate");
  assert.equal(group.error?.code, expected.duplicate.code);
  assert.match(group.error!.message, /IM0003\.dcm, .*IM0099\.dcm/);
});

Deno.test("a byte copy of a slice is left out with a warning", () => {
  const group = only("copy");
  assert.equal(group.error, undefined);
  assert.equal(group.slices.length, expected.copy.slices);
  assert.equal(group.warnings.length, 1);
  assert.match(group.warnings[0], /is a copy of .* the copy is left out/);
  // The copy stays a member (every file belongs to its series' entry), after those that give slices.
  assert.equal(group.members.length, 5);
  assert.ok(!group.slices.some((s) => s.member === 4));
});

Deno.test("one SeriesInstanceUID with two orientations: two volumes, the split explained", () => {
  const groups = partitionSeries(scan("split"));
  assert.deepEqual(groups.map((g) => g.slices.length), expected.split.parts);
  const uid = groups[0].seriesInstanceUid!;
  assert.deepEqual(groups.map((g) => g.key), [uid, `${uid}-2`]);
  for (const g of groups) assert.match(g.warnings[0], /split into 2 volumes.*ImageOrientationPatient/);
  assert.ok(groups[1].members.every((m) => m.includes("SAG")));
});

Deno.test("RescaleSlope/Intercept differing per slice: each slice's own applied while stacking", async () => {
  const group = only("rescale");
  assertGeometry("rescale", group.geometry);
  assert.ok(new Set(group.slices.map((s) => s.slope)).size > 1, "the fixture's slopes differ");
  const { volume, worst } = await checkValues(group);
  assert.equal(volume.rescaledPerSlice, true);
  assert.equal(volume.meta.rescaleSlope, 1);
  assert.equal(volume.meta.rescaleIntercept, 0);
  // A stored value rounded at slope 2 is up to 1 HU off.
  assert.ok(worst <= 1 + 1e-6, `modality values follow the truth: ${worst}`);
});

Deno.test("enhanced multi-frame: frames ordered by their per-frame positions", async () => {
  const group = only("enhanced");
  assertGeometry("enhanced", group.geometry);
  assert.deepEqual(group.slices.map((s) => s.frame), expected.enhanced.frames);
  assert.notDeepEqual(expected.enhanced.frames, [...expected.enhanced.frames].sort(), "frames are shuffled");
  const { worst } = await checkValues(group);
  assert.ok(worst <= 0.5 + 1e-6, `values follow the affine: ${worst}`);
});

Deno.test("gantry tilt: a warning and a sheared affine that places every voxel", async () => {
  const group = only("tilt");
  assert.equal(group.error, undefined);
  assert.match(group.warnings.join(), /gantry tilt: .* 12\.00 degrees/);
  assertGeometry("tilt", group.geometry);
  const { worst } = await checkValues(group);
  assert.ok(worst <= 0.5 + 1e-6, `values follow the sheared affine: ${worst}`);
});

Deno.test("irregular spacing without a gap: a warning, the mean step", () => {
  const group = only("irregular");
  assert.equal(group.error, undefined);
  assert.match(group.warnings.join(), /irregular slice spacing: steps from 2\.300 to 2\.700 mm/);
  assertGeometry("irregular", group.geometry);
});

Deno.test("files without SeriesInstanceUID or geometry cannot be grouped, with coded errors", () => {
  const [a] = scan("oblique");
  const noUid = partitionSeries([{ path: "x/a.dcm", header: { ...a.header, seriesInstanceUid: undefined } }]);
  assert.equal(noUid[0].error?.code, "SERIES_UID_MISSING");
  assert.equal(noUid[0].key, "a.dcm");
  const noPos = partitionSeries([{
    path: "b.dcm",
    header: {
      ...a.header,
      frames: [{ slope: 1, intercept: 0, orientation: a.header.frames[0].orientation }],
    },
  }]);
  assert.equal(noPos[0].error?.code, "SERIES_NO_GEOMETRY");
  assert.match(noPos[0].error!.message, /ImagePositionPatient/);
});

Deno.test("partition does not depend on the order the files come in", () => {
  const inputs = scan("oblique");
  const a = partitionSeries(inputs);
  const b = partitionSeries([...inputs].reverse());
  assert.deepEqual(a[0].geometry, b[0].geometry);
});

Deno.test("decode's series grouping: scan is JSON, partition keeps the slice order, runGroup stacks", async () => {
  const grouping = decode.group!;
  const files = readdirSync(`${DIR}/oblique`).sort().map((n) => {
    const path = `${DIR}/oblique/${n}`;
    return { path, bytes: new Uint8Array(readFileSync(path)) };
  });
  const scanned = await Effect.runPromise(
    Effect.forEach(files, (f) =>
      Effect.map(grouping.scan(f, {}), (record) => ({
        path: f.path,
        // Records travel as JSON (workers, journals): round-trip them.
        record: JSON.parse(JSON.stringify(record)),
      }))),
  );
  const [group] = grouping.partition(scanned, {}, "series");
  const members = group.members.map((m) => files.find((f) => f.path === m)!);
  const image = await Effect.runPromise(grouping.runGroup(members, JSON.parse(JSON.stringify(group)), {}));
  assert.equal(image.kind, "stored");
  assert.deepEqual(image.shape, [10, 1, 24, 32]);
  assert.deepEqual(image.meta.volume?.sopInstanceUids, expected.oblique.sopInstanceUids);
  assert.equal((image.notes.series as { slices: number }).slices, 10);
});
