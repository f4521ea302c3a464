/**
 * `decode` with `group: series`: the files of a series -> one volume `[slices, channels, rows, cols]`.
 *
 * Grouping, ordering and the checks are the DICOM reader's (dicom/series.ts); this module adapts them to
 * the source stage's grouping form: `scan` reads a header, `partition` makes the volumes, `runGroup`
 * decodes the member files and stacks their slices in order. The volume comes out as `stored` values with
 * its geometry in `meta.volume`; when the slices' RescaleSlope/RescaleIntercept differ, each slice's own is
 * applied while stacking and the volume's become 1 and 0 (so `rescale` gives modality values either way).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  assembleVolume,
  decodeDicomAsync,
  partitionSeries,
  readHeader,
  type SeriesGroup,
  type SliceHeader,
  sliceHeader,
} from "../../dicom/mod.ts";
import type { FileGroup, Image, SourceGroup, StageError } from "../../plugin.ts";
import { decodeNotes, toStageError } from "./notes.ts";

/** What the volume's notes say about the series. */
const seriesNotes = (group: SeriesGroup, rescaledPerSlice: boolean) => ({
  seriesInstanceUid: group.seriesInstanceUid,
  slices: group.slices.length,
  files: group.members.length,
  spacing: group.geometry?.spacing,
  ...(rescaledPerSlice
    ? { rescale: "RescaleSlope/RescaleIntercept differ between slices: each slice's own was applied" }
    : {}),
  ...(group.warnings.length > 0 ? { warnings: group.warnings } : {}),
});

/** Decodes the member files and stacks them into the group's volume. */
const volumeOf = (files: ReadonlyArray<{ readonly bytes: Uint8Array }>, group: FileGroup) =>
  Effect.tryPromise({
    try: async (): Promise<Image> => {
      const series = group.detail as SeriesGroup;
      // Members that give no slice (copies left out) are not decoded.
      const used = new Set(series.slices.map((s) => s.member));
      const decoded = await Promise.all(
        files.map((f, i) => (used.has(i) ? decodeDicomAsync(f.bytes) : undefined)),
      );
      const volume = assembleVolume(series, decoded);
      return {
        kind: "stored",
        shape: volume.shape,
        data: volume.data,
        meta: volume.meta,
        notes: {
          decode: decodeNotes(volume.meta),
          series: seriesNotes(series, volume.rescaledPerSlice),
        },
      };
    },
    catch: toStageError,
  });

/** `group: series` for the `decode` stage. */
export const seriesGrouping: SourceGroup<unknown, StageError> = {
  modes: ["series"],
  scan: (file) => Effect.try({ try: () => sliceHeader(readHeader(file.bytes)), catch: toStageError }),
  partition: (scanned) =>
    partitionSeries(scanned.map((s) => ({ path: s.path, header: s.record as SliceHeader }))).map((g) => ({
      key: g.key,
      members: g.members,
      warnings: g.warnings,
      ...(g.error ? { error: g.error } : {}),
      detail: g,
    })),
  runGroup: (files, group) => volumeOf(files, group),
};
