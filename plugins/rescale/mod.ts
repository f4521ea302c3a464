/**
 * `rescale`: the Modality LUT - stored values to modality units (Hounsfield units for CT).
 *
 * Uses RescaleSlope/RescaleIntercept (1 and 0 when absent) or the Modality LUT Sequence when the file has
 * one; an enhanced multi-frame object whose frames have different Pixel Value Transformations gets each
 * frame's own (`ImageMeta.frameRescale`). `slope`/`intercept` in the pipeline override the file (for archives
 * with missing tags). Colour images have no Modality LUT and pass through unchanged.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import {
  CpuFallback,
  defineStage,
  type FrameRescale,
  type Image,
  type LutTable,
  mapFrames,
  wgslFile,
  withData,
} from "../../plugin.ts";
import { applyModalityLut, applyRescale } from "./modality.ts";

const Params = Schema.Struct({
  slope: Schema.optionalKey(Schema.Finite.annotate({ description: "override RescaleSlope" })),
  intercept: Schema.optionalKey(Schema.Finite.annotate({ description: "override RescaleIntercept" })),
});

/** Parameters of the `rescale` stage. */
export type RescaleParams = typeof Params.Type;

/** The Modality LUT chosen for one image; shared by the CPU and GPU forms. */
export type ResolvedModality =
  | { readonly type: "identity" }
  | { readonly type: "lut"; readonly lut: LutTable; readonly notes: Record<string, unknown> }
  | {
    readonly type: "linear";
    readonly slope: number;
    readonly intercept: number;
    readonly notes: Record<string, unknown>;
  }
  | {
    /** Each frame its own slope and intercept (an enhanced multi-frame object's per-frame groups). */
    readonly type: "frames";
    readonly slopes: ReadonlyArray<number>;
    readonly intercepts: ReadonlyArray<number>;
    readonly notes: Record<string, unknown>;
  };

/** Chooses the Modality LUT of an image from the params and its metadata. */
export const resolveModality = (p: RescaleParams, image: Omit<Image, "data">): ResolvedModality => {
  const meta = image.meta;
  if (image.shape[1] > 1) return { type: "identity" };
  if (meta.modalityLut && p.slope === undefined && p.intercept === undefined) {
    const notes = { rescale: { lut: true, explanation: meta.modalityLut.explanation } };
    return { type: "lut", lut: meta.modalityLut, notes };
  }
  const perFrame = meta.frameRescale && image.shape[0] === meta.frameRescale.slopes.length
    ? framesOf(p, meta.frameRescale)
    : undefined;
  if (perFrame) return perFrame;
  const slope = p.slope ?? meta.rescaleSlope;
  const intercept = p.intercept ?? meta.rescaleIntercept;
  return { type: "linear", slope, intercept, notes: { rescale: { slope, intercept } } };
};

/** Each frame's slope and intercept (a parameter overrides the file's for every frame); undefined if equal. */
const framesOf = (p: RescaleParams, frames: FrameRescale): ResolvedModality | undefined => {
  const slopes = frames.slopes.map((s) => p.slope ?? s);
  const intercepts = frames.intercepts.map((b) => p.intercept ?? b);
  if (slopes.every((s) => s === slopes[0]) && intercepts.every((b) => b === intercepts[0])) return undefined;
  const notes = { rescale: { perFrame: true, slope: slopes, intercept: intercepts } };
  return { type: "frames", slopes, intercepts, notes };
};

/** The `rescale` stage. */
export const rescale = defineStage({
  name: "rescale",
  description: "Modality LUT: stored values -> modality units (slope/intercept or Modality LUT Sequence)",
  params: Params,
  examples: [{}, { slope: 1, intercept: -1024 }],
  accepts: ["stored"],
  produces: "modality",
  run: (image, p) =>
    Effect.sync(() => {
      const m = resolveModality(p, image);
      switch (m.type) {
        case "identity":
          return withData(image, image.data, { kind: "modality" });
        case "lut":
          return withData(image, applyModalityLut(image.data, m.lut), { kind: "modality", notes: m.notes });
        case "linear": {
          const { slope, intercept } = m;
          const data = slope === 1 && intercept === 0
            ? image.data
            : applyRescale(image.data, slope, intercept);
          return withData(image, data, { kind: "modality", notes: m.notes });
        }
        case "frames": {
          const { slopes, intercepts } = m;
          const data = mapFrames(image.data, image.shape, image.shape[1], (f) => (x) =>
            slopes[f] * x + intercepts[f]);
          return withData(image, data, { kind: "modality", notes: m.notes });
        }
      }
    }),
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/rescale.wgsl"),
    entry: "rescale",
    fields: ["slope", "intercept"],
    affine: true,
    values: (p, image) => {
      const m = resolveModality(p, image);
      switch (m.type) {
        case "identity":
          return Effect.succeed({ values: { slope: 1, intercept: 0 } });
        case "lut":
          return Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message: "Modality LUT Sequence" }));
        case "frames": // each frame's own, asked for frame by frame (its header gives one slope)
          return Effect.succeed({ values: {}, perFrame: true, notes: m.notes });
        case "linear":
          return Effect.succeed({ values: { slope: m.slope, intercept: m.intercept }, notes: m.notes });
      }
    },
    cpu: ({ slope, intercept }) => (x) => slope * x + intercept,
  },
});
