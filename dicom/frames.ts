/**
 * One frame of an enhanced multi-frame object seen alone: the frame's own Modality LUT and windows (its
 * per-frame functional groups, `ImageMeta.frameRescale` / `frameVoi`) as the image's, so that what reads one
 * slope or one window per image reads the frame's.
 *
 * @module
 */
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
