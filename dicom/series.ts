/**
 * Series -> volumes: what grouping needs from each file's header, grouping by SeriesInstanceUID, splitting
 * where the geometry differs, ordering slices along the slice normal, checking the spacing, and stacking the
 * decoded slices into one volume `[slices, channels, rows, cols]` with its affine. Plain functions, no I/O.
 *
 * How a series becomes volumes ({@link partitionSeries}):
 * 1. Files are grouped by SeriesInstanceUID (files without one cannot be grouped: SERIES_UID_MISSING).
 * 2. Every frame is a slice (enhanced multi-frame files give one slice per frame, at its own position from
 *    the Per-frame Functional Groups). A series is split where ImageOrientationPatient, Rows/Columns or
 *    PixelSpacing differ; the largest part keeps the UID as its key, the others get `UID-2`, `UID-3`, ...
 *    and every part says in its warnings what differed.
 * 3. Slices are ordered by the projection of ImagePositionPatient on the slice normal (row direction x
 *    column direction): never by file name or InstanceNumber.
 * 4. Checks, each with its outcome:
 *    - the same file twice (equal SOPInstanceUID and frame at one position): the copy is dropped, warning;
 *    - two different slices at one position (several echoes, phases or acquisitions in one series):
 *      error SERIES_DUPLICATE_POSITION;
 *    - a step larger than 1.5x the median step (missing slices): error SERIES_MISSING_SLICES (a volume
 *      stacked across the gap would put every later slice at the wrong place);
 *    - steps that differ from the median by more than 1% (0.01 mm at least) without a gap: warning, the
 *      volume uses the mean step (first to last slice);
 *    - slices whose positions do not advance along the normal (gantry tilt, angle over 0.05 degrees):
 *      warning, and the affine's slice axis is the mean step between positions (a sheared affine that puts
 *      every voxel where the scanner says it is);
 *    - missing ImageOrientationPatient, ImagePositionPatient or PixelSpacing: error SERIES_NO_GEOMETRY.
 *
 * @module
 */
import {
  addScaled,
  angleDegrees,
  dot,
  norm,
  orientationProblem,
  scale,
  sliceNormal,
  sub,
  type Vec3,
  volumeAffine,
} from "./geometry.ts";
import { metaWith, readAttributesOf } from "./lazy_dataset.ts";
import type { ImageMeta, VolumeGeometry } from "./meta.ts";
import { items, nums } from "./values.ts";

/** The geometry and Modality LUT of one frame. */
export interface FrameHeader {
  readonly position?: Vec3;
  readonly orientation?: ReadonlyArray<number>;
  readonly slope: number;
  readonly intercept: number;
}

/** What grouping needs from one file's header: small and JSON-serializable. */
export interface SliceHeader {
  readonly seriesInstanceUid?: string;
  readonly sopInstanceUid?: string;
  readonly modality?: string;
  readonly rows: number;
  readonly cols: number;
  readonly pixelSpacing?: readonly [number, number];
  readonly sliceThickness?: number;
  readonly instanceNumber?: number;
  /** One entry per frame. */
  readonly frames: ReadonlyArray<FrameHeader>;
}

/** Codes of the series errors. */
export type SeriesErrorCode =
  | "SERIES_UID_MISSING"
  | "SERIES_NO_GEOMETRY"
  | "SERIES_DUPLICATE_POSITION"
  | "SERIES_MISSING_SLICES"
  | "SERIES_MISMATCH";

/** A series that cannot become a volume, with a stable code and a message in DICOM terms. */
export class SeriesError extends Error {
  constructor(readonly code: SeriesErrorCode, message: string) {
    super(message);
    this.name = "SeriesError";
  }
}

/** One slice of a volume: frame `frame` of member file `member`. */
export interface SeriesSlice {
  readonly member: number;
  readonly frame: number;
  readonly sopInstanceUid: string;
  readonly position: Vec3;
  readonly slope: number;
  readonly intercept: number;
}

/** One volume to assemble (or why it cannot be). JSON-serializable. */
export interface SeriesGroup {
  /** Unique within a partition: the SeriesInstanceUID, `UID-2`... for split parts. */
  readonly key: string;
  readonly seriesInstanceUid?: string;
  /**
   * Paths of the member files, in the order their first slice appears, then files left out (copies of a
   * slice: they give none).
   */
  readonly members: ReadonlyArray<string>;
  /** Slices in volume order (ascending along the slice normal). */
  readonly slices: ReadonlyArray<SeriesSlice>;
  readonly rows: number;
  readonly cols: number;
  /** Absent when the group has an error. */
  readonly geometry?: VolumeGeometry;
  readonly warnings: ReadonlyArray<string>;
  readonly error?: { readonly code: SeriesErrorCode; readonly message: string };
}

/** A scanned file: its path and header. */
export interface SeriesInput {
  readonly path: string;
  readonly header: SliceHeader;
}

const vec3 = (v: unknown): Vec3 | undefined => {
  const n = nums(v);
  return n && n.length >= 3 ? [n[0], n[1], n[2]] : undefined;
};

/** The macro of a functional group item (first item of the named sequence). */
const macro = (group: Record<string, unknown> | undefined, name: string) =>
  group ? items(group[name])[0] : undefined;

/** Per-frame headers of an enhanced multi-frame object, falling back to the shared groups and the meta. */
const enhancedFrames = (meta: ImageMeta): FrameHeader[] | undefined => {
  // the functional groups are among the attributes read: scanning a series names no whole data set
  const ds = readAttributesOf(meta);
  const perFrame = items(ds.PerFrameFunctionalGroupsSequence);
  if (perFrame.length === 0) return undefined;
  const shared = items(ds.SharedFunctionalGroupsSequence)[0];
  return Array.from({ length: meta.frames }, (_, f) => {
    const frame = perFrame[f];
    const pick = (name: string) => macro(frame, name) ?? macro(shared, name);
    return {
      position: vec3(pick("PlanePositionSequence")?.ImagePositionPatient) ?? meta.imagePositionPatient,
      orientation: nums(pick("PlaneOrientationSequence")?.ImageOrientationPatient) ??
        meta.imageOrientationPatient,
      // the header's reading of the Pixel Value Transformation (header.ts): one rule for both paths
      slope: meta.frameRescale?.slopes[f] ?? meta.rescaleSlope,
      intercept: meta.frameRescale?.intercepts[f] ?? meta.rescaleIntercept,
    };
  });
};

/** What grouping needs from a header (see {@link SliceHeader}). */
export function sliceHeader(meta: ImageMeta): SliceHeader {
  const frames = enhancedFrames(meta) ?? Array.from({ length: meta.frames }, () => ({
    position: meta.imagePositionPatient,
    orientation: meta.imageOrientationPatient,
    slope: meta.rescaleSlope,
    intercept: meta.rescaleIntercept,
  }));
  const header: SliceHeader = {
    seriesInstanceUid: meta.seriesInstanceUid,
    sopInstanceUid: meta.sopInstanceUid,
    modality: meta.modality,
    rows: meta.rows,
    cols: meta.cols,
    pixelSpacing: meta.pixelSpacing,
    sliceThickness: meta.sliceThickness,
    instanceNumber: meta.instanceNumber,
    frames: frames.map((f) => dropUndefined(f)),
  };
  return dropUndefined(header);
}

const dropUndefined = <T extends object>(o: T): T =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

/** A slice before ordering. */
interface Candidate {
  readonly input: number;
  readonly frame: number;
  readonly sop: string;
  readonly position?: Vec3;
  readonly orientation?: ReadonlyArray<number>;
  readonly slope: number;
  readonly intercept: number;
}

/** The geometry that must be equal within a volume. */
interface PartKey {
  readonly rows: number;
  readonly cols: number;
  readonly orientation?: ReadonlyArray<number>;
  readonly pixelSpacing?: readonly [number, number];
}

const close = (a: ReadonlyArray<number> | undefined, b: ReadonlyArray<number> | undefined, tol: number) =>
  a === undefined || b === undefined
    ? a === b
    : a.length === b.length && a.every((v, i) => Math.abs(v - b[i]) <= tol);

/** What differs between two part keys, in DICOM terms. */
const differences = (a: PartKey, b: PartKey): string[] => [
  ...(a.rows !== b.rows || a.cols !== b.cols
    ? [`Rows/Columns ${a.rows}x${a.cols} vs ${b.rows}x${b.cols}`]
    : []),
  ...(!close(a.orientation, b.orientation, 1e-4)
    ? [`ImageOrientationPatient [${a.orientation ?? "none"}] vs [${b.orientation ?? "none"}]`]
    : []),
  ...(!close(a.pixelSpacing, b.pixelSpacing, 1e-4)
    ? [`PixelSpacing [${a.pixelSpacing ?? "none"}] vs [${b.pixelSpacing ?? "none"}]`]
    : []),
];

/**
 * Groups scanned files into volumes (see the module documentation for the rules). Files come in any order;
 * groups come in the order of their series' first file, splits largest first.
 */
export function partitionSeries(inputs: ReadonlyArray<SeriesInput>): SeriesGroup[] {
  const bySeries = new Map<string, number[]>();
  const groups: SeriesGroup[] = [];
  inputs.forEach((input, i) => {
    const uid = input.header.seriesInstanceUid;
    if (uid === undefined) {
      groups.push(errorGroup(
        input,
        "SERIES_UID_MISSING",
        "has no SeriesInstanceUID (0020,000E), so it " +
          "cannot be grouped into a series; run it without `group: series`",
      ));
      return;
    }
    bySeries.set(uid, [...(bySeries.get(uid) ?? []), i]);
  });
  for (const [uid, members] of bySeries) groups.push(...splitSeries(uid, members, inputs));
  return groups;
}

const errorGroup = (input: SeriesInput, code: SeriesErrorCode, message: string): SeriesGroup => ({
  key: input.path.replace(/^.*[\\/]/, ""),
  members: [input.path],
  slices: [],
  rows: input.header.rows,
  cols: input.header.cols,
  warnings: [],
  error: { code, message: `${input.path} ${message}` },
});

/** Splits one series by geometry and orders each part. */
function splitSeries(uid: string, members: ReadonlyArray<number>, inputs: ReadonlyArray<SeriesInput>) {
  const parts: Array<{ readonly key: PartKey; readonly slices: Candidate[] }> = [];
  for (const i of members) {
    const h = inputs[i].header;
    h.frames.forEach((f, frame) => {
      const key: PartKey = {
        rows: h.rows,
        cols: h.cols,
        orientation: f.orientation,
        pixelSpacing: h.pixelSpacing,
      };
      const slice: Candidate = {
        input: i,
        frame,
        sop: h.sopInstanceUid ?? inputs[i].path,
        position: f.position,
        orientation: f.orientation,
        slope: f.slope,
        intercept: f.intercept,
      };
      const part = parts.find((p) => differences(p.key, key).length === 0);
      if (part) part.slices.push(slice);
      else parts.push({ key, slices: [slice] });
    });
  }
  const ordered = parts.map((p, at) => ({ ...p, at })).sort((a, b) =>
    b.slices.length - a.slices.length || a.at - b.at
  );
  return ordered.map((part, k) => {
    const key = k === 0 ? uid : `${uid}-${k + 1}`;
    const split = ordered.length === 1 ? [] : [
      `series ${uid} was split into ${ordered.length} volumes, this is part ${
        k + 1
      } (${part.slices.length} ` +
      `slice(s)): ${differences(part.key, ordered[k === 0 ? 1 : 0].key).join("; ")} (vs part ${
        k === 0 ? 2 : 1
      })`,
    ];
    return orderPart(key, uid, part.key, part.slices, inputs, split);
  });
}

/** Orders a part's slices, checks the spacing and computes the geometry. */
function orderPart(
  key: string,
  uid: string,
  partKey: PartKey,
  candidates: ReadonlyArray<Candidate>,
  inputs: ReadonlyArray<SeriesInput>,
  warnings: string[],
): SeriesGroup {
  const base = { key, seriesInstanceUid: uid, rows: partKey.rows, cols: partKey.cols };
  const fail = (code: SeriesErrorCode, message: string, slices: ReadonlyArray<Candidate> = candidates) => ({
    ...base,
    ...membersOf(slices, inputs),
    warnings,
    error: { code, message: `series ${uid}${key === uid ? "" : ` (part ${key})`}: ${message}` },
  });
  const problem = orientationProblem(partKey.orientation) ??
    (partKey.pixelSpacing ? undefined : "PixelSpacing (0028,0030) is missing") ??
    (candidates.some((c) => !c.position)
      ? `ImagePositionPatient (0020,0032) is missing on ${candidates.filter((c) => !c.position).length} ` +
        "slice(s)"
      : undefined);
  if (problem) return fail("SERIES_NO_GEOMETRY", `${problem}; slices cannot be placed in a volume`);
  const normal = sliceNormal(partKey.orientation!);
  const sorted = candidates.map((c) => ({ c, d: dot(c.position!, normal) })).sort((a, b) => a.d - b.d);
  const kept: typeof sorted = [];
  for (const s of sorted) {
    const prev = kept[kept.length - 1];
    if (!prev || s.d - prev.d > 0.01) {
      kept.push(s);
      continue;
    }
    if (prev.c.sop === s.c.sop && prev.c.frame === s.c.frame) {
      warnings.push(
        `${inputs[s.c.input].path} is a copy of ${inputs[prev.c.input].path} (same SOPInstanceUID ` +
          `${s.c.sop}); the copy is left out`,
      );
      continue;
    }
    const same = sorted.filter((x) => Math.abs(x.d - s.d) <= 0.01).map((x) => inputs[x.c.input].path);
    return fail(
      "SERIES_DUPLICATE_POSITION",
      `${same.length} different slices lie at the same position (${s.d.toFixed(3)} mm along the normal): ` +
        `${[...new Set(same)].join(", ")}. The series holds several images per position (echoes, phases, ` +
        "time points or repeated acquisitions); separate them (e.g. by EchoNumbers or AcquisitionNumber) " +
        "before grouping",
    );
  }
  const slices = kept.map((s) => s.c);
  const leftOut = sorted.filter((s) => !kept.includes(s)).map((s) => s.c.input);
  const geometry = placeSlices(kept, normal, partKey, inputs, warnings);
  if ("code" in geometry) return fail(geometry.code, geometry.message, slices);
  return {
    ...base,
    ...membersOf(slices, inputs, leftOut),
    geometry: { ...geometry, sopInstanceUids: slices.map((c) => c.sop) },
    warnings,
  };
}

/**
 * Members (first use order; then the files `leftOut`, copies that give no slice, so that every file of the
 * series belongs to its group) and slices referring to them.
 */
function membersOf(
  slices: ReadonlyArray<Candidate>,
  inputs: ReadonlyArray<SeriesInput>,
  leftOut: ReadonlyArray<number> = [],
) {
  const index = new Map<number, number>();
  const members: string[] = [];
  const out: SeriesSlice[] = [];
  for (const c of slices) {
    if (!index.has(c.input)) {
      index.set(c.input, members.length);
      members.push(inputs[c.input].path);
    }
    out.push({
      member: index.get(c.input)!,
      frame: c.frame,
      sopInstanceUid: c.sop,
      position: c.position ?? [0, 0, 0],
      slope: c.slope,
      intercept: c.intercept,
    });
  }
  for (const i of leftOut) if (!index.has(i)) index.set(i, members.push(inputs[i].path) - 1);
  return { members, slices: out };
}

const median = (values: ReadonlyArray<number>): number => {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Tilt above this angle between the slice normal and the direction the positions advance in is reported. */
const TILT_DEGREES = 0.05;

/** Spacing checks and the affine of ordered, distinct slices. */
function placeSlices(
  sorted: ReadonlyArray<{ readonly c: Candidate; readonly d: number }>,
  normal: Vec3,
  key: PartKey,
  inputs: ReadonlyArray<SeriesInput>,
  warnings: string[],
): Omit<VolumeGeometry, "sopInstanceUids"> | { readonly code: SeriesErrorCode; readonly message: string } {
  const n = sorted.length;
  const first = sorted[0].c.position!;
  const ps = key.pixelSpacing!;
  if (n === 1) {
    const thickness = inputs[sorted[0].c.input].header.sliceThickness;
    const spacing = thickness && thickness > 0 ? thickness : 1;
    warnings.push(
      `a single slice: its slice spacing is ${
        thickness && thickness > 0 ? `SliceThickness, ${spacing} mm` : "unknown (1 mm assumed)"
      }`,
    );
    return {
      affine: volumeAffine(key.orientation!, ps, first, scale(normal, spacing)),
      spacing: [ps[0], ps[1], spacing],
    };
  }
  const steps = sorted.slice(1).map((s, i) => s.d - sorted[i].d);
  const med = median(steps);
  const gaps = steps.flatMap((s, i) => (s > 1.5 * med ? [i] : []));
  if (gaps.length > 0) {
    const missing = gaps.reduce((a, i) => a + Math.max(1, Math.round(steps[i] / med) - 1), 0);
    const where = gaps.map((i) =>
      `${steps[i].toFixed(2)} mm between ${inputs[sorted[i].c.input].path} and ${
        inputs[sorted[i + 1].c.input].path
      }`
    ).join("; ");
    return {
      code: "SERIES_MISSING_SLICES",
      message: `about ${missing} slice(s) missing: ${gaps.length} gap(s) over 1.5x the median step of ` +
        `${med.toFixed(3)} mm (${where}). Stacked as they are, every slice after a gap would be placed ` +
        "at the wrong position; supply the missing files",
    };
  }
  const span = sorted[n - 1].d - sorted[0].d;
  const mean = span / (n - 1);
  const deviation = Math.max(...steps.map((s) => Math.abs(s - med)));
  if (deviation > Math.max(0.01, 0.01 * med)) {
    warnings.push(
      `irregular slice spacing: steps from ${Math.min(...steps).toFixed(3)} to ${
        Math.max(...steps).toFixed(3)
      } mm (median ${med.toFixed(3)}); the volume uses the mean step, ${mean.toFixed(4)} mm, so slices ` +
        `may be up to ${deviation.toFixed(3)} mm from their true position`,
    );
  }
  const last = sorted[n - 1].c.position!;
  const meanStep = scale(sub(last, first), 1 / (n - 1));
  const tilt = angleDegrees(meanStep, normal);
  let step = scale(normal, mean);
  if (tilt > TILT_DEGREES) {
    step = meanStep;
    warnings.push(
      `gantry tilt: the slice positions advance ${tilt.toFixed(2)} degrees off the slice normal; the ` +
        "affine is sheared so that every voxel is where the scanner placed it (NIfTI: exact in the sform, " +
        "the qform holds the nearest rigid geometry)",
    );
  }
  return { affine: volumeAffine(key.orientation!, ps, first, step), spacing: [ps[0], ps[1], norm(step)] };
}

/** A decoded member file: its meta, stored values `[frames, channels, rows, cols]` and shape. */
export interface DecodedMember {
  readonly meta: ImageMeta;
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
}

/** A volume assembled from a series. */
export interface AssembledVolume {
  readonly meta: ImageMeta;
  readonly data: Float32Array;
  readonly shape: readonly [number, number, number, number];
  /**
   * True when the slices' RescaleSlope/RescaleIntercept differed and each slice's own was applied while
   * stacking: the values are then modality values and the meta's slope and intercept are 1 and 0.
   */
  readonly rescaledPerSlice: boolean;
}

/**
 * Stacks the decoded members of a group (in `group.members` order; `undefined` for members that give no
 * slice) into one volume in slice order.
 *
 * When every slice has the same RescaleSlope/Intercept (and Modality LUT), the values stay stored values and
 * the meta keeps that slope and intercept (the `rescale` stage then applies it, fused on the GPU). When they
 * differ, each slice's own is applied here and the meta's become 1 and 0, so `rescale` gives the same
 * modality values either way.
 *
 * @throws SeriesError SERIES_MISMATCH when a member does not match the group's header (changed on disk), or
 *   when slices with different Modality LUT Sequences would need one applied per slice
 */
export function assembleVolume(
  group: SeriesGroup,
  decoded: ReadonlyArray<DecodedMember | undefined>,
): AssembledVolume {
  if (!group.geometry || group.error) {
    throw new SeriesError(group.error?.code ?? "SERIES_NO_GEOMETRY", group.error?.message ?? "no geometry");
  }
  const { rows, cols } = group;
  const channels = decoded[group.slices[0].member]?.shape[1] ?? 1;
  for (const [i, d] of decoded.entries()) {
    if (!d) continue;
    const [frames, ch, r, c] = d.shape;
    if (r !== rows || c !== cols || ch !== channels || frames <= maxFrame(group, i)) {
      throw new SeriesError(
        "SERIES_MISMATCH",
        `${group.members[i]} decodes to [${d.shape.join(", ")}], which does not match series ` +
          `${group.seriesInstanceUid}'s ${rows}x${cols} slices with ${channels} channel(s)`,
      );
    }
  }
  const plane = channels * rows * cols;
  const data = new Float32Array(group.slices.length * plane);
  const first = group.slices[0];
  const uniform = group.slices.every((s) => s.slope === first.slope && s.intercept === first.intercept);
  const luts = new Set(decoded.flatMap((d) => (d ? [JSON.stringify(d.meta.modalityLut ?? null)] : [])));
  if (luts.size > 1 || (!uniform && !luts.has("null"))) {
    throw new SeriesError(
      "SERIES_MISMATCH",
      `the slices of series ${group.seriesInstanceUid} have different Modality LUTs, which cannot be ` +
        "applied to one volume",
    );
  }
  group.slices.forEach((s, k) => {
    const member = decoded[s.member];
    if (!member) throw new SeriesError("SERIES_MISMATCH", `${group.members[s.member]} was not decoded`);
    const src = member.data.subarray(s.frame * plane, (s.frame + 1) * plane);
    if (uniform) data.set(src, k * plane);
    else for (let i = 0; i < plane; i++) data[k * plane + i] = s.slope * src[i] + s.intercept;
  });
  const meta0 = decoded[first.member]!.meta;
  const meta = metaWith(meta0, {
    frames: group.slices.length,
    sopInstanceUid: first.sopInstanceUid,
    imagePositionPatient: first.position,
    rescaleSlope: uniform ? first.slope : 1,
    rescaleIntercept: uniform ? first.intercept : 0,
    // a member's per-frame values describe its frames, not the volume's slices (applied above if they differ)
    frameRescale: undefined,
    frameVoi: undefined,
    frameRealWorld: undefined,
    volume: group.geometry,
  });
  return { meta, data, shape: [group.slices.length, channels, rows, cols], rescaledPerSlice: !uniform };
}

const maxFrame = (group: SeriesGroup, member: number) =>
  Math.max(...group.slices.filter((s) => s.member === member).map((s) => s.frame));

/**
 * The geometry of one file's image as it is (frames in file order), for writers that need one outside
 * `group: series`: a single slice (slice spacing from SliceThickness), or a multi-frame image whose frames
 * already lie in ascending order along the normal at regular steps. Undefined otherwise (the geometry is
 * then unknown: missing attributes, frames out of order, gaps, several positions at once).
 */
export function imageGeometry(meta: ImageMeta): VolumeGeometry | undefined {
  if (meta.volume) return meta.volume;
  const [group] = partitionSeries([{
    path: "image",
    header: { ...sliceHeader(meta), seriesInstanceUid: "image" },
  }]);
  if (!group?.geometry || group.error || group.slices.length !== meta.frames) return undefined;
  return group.slices.every((s, k) => s.frame === k) ? group.geometry : undefined;
}

/** The slice position of voxel plane `k` of a volume (for messages and tests). */
export const slicePosition = (geometry: VolumeGeometry, k: number): Vec3 => {
  const a = geometry.affine;
  return addScaled([a[3], a[7], a[11]], [a[2], a[6], a[10]], k);
};
