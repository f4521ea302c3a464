/**
 * One frame of an enhanced multi-frame object seen alone: the frame's own Modality LUT and windows (its
 * per-frame functional groups, `ImageMeta.frameRescale` / `frameVoi`) as the image's, so that what reads one
 * slope or one window per image reads the frame's; and the check that per-frame values can be matched to
 * frames at all.
 *
 * @module
 */
import { DicomDecodeError } from "./errors.ts";
import { metaWith } from "./lazy_dataset.ts";
import type { ImageMeta } from "./meta.ts";

/**
 * The meta of frame `f` alone: one frame, its own slope, intercept, windows, VOI LUT function and Real World
 * Value Mappings.
 */
export function frameMeta(meta: ImageMeta, f: number): ImageMeta {
  const rescale = meta.frameRescale;
  const voi = meta.frameVoi?.[f];
  return metaWith(meta, {
    frames: 1,
    ...(rescale
      ? { rescaleSlope: rescale.slopes[f], rescaleIntercept: rescale.intercepts[f], frameRescale: undefined }
      : {}),
    ...(voi ? { windows: voi.windows, voiLutFunction: voi.voiLutFunction, frameVoi: undefined } : {}),
    ...(meta.frameRealWorld ? { realWorld: meta.frameRealWorld[f], frameRealWorld: undefined } : {}),
  });
}

/**
 * Per-frame values that differ between frames can only be applied frame by frame with one item per frame.
 */
export function checkFrameCount(
  groups: ReadonlyArray<unknown>,
  frames: number,
  macro: string,
  what: string,
): void {
  if (groups.length === frames) return;
  throw new DicomDecodeError(
    "INVALID_DICOM",
    `PerFrameFunctionalGroupsSequence (5200,9230) has ${groups.length} item(s) for NumberOfFrames ${frames}, ` +
      `and their ${macro} items give different ${what}: which frame each applies to is unknown. Fix the ` +
      "functional groups (one item per frame, in frame order) or NumberOfFrames.",
  );
}
