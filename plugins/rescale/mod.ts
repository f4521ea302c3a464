/**
 * `rescale`: the Modality LUT - stored values to modality units (Hounsfield units for CT).
 *
 * Uses RescaleSlope/RescaleIntercept (1 and 0 when absent) or the Modality LUT Sequence when the file has
 * one. `slope`/`intercept` in the pipeline override the file (for archives with missing tags).
 * Colour images have no Modality LUT and pass through unchanged.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { CpuFallback, defineStage, type Image, type LutTable, wgslFile, withData } from "../../plugin.ts";
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
  };

/** Chooses the Modality LUT of an image from the params and its metadata. */
export const resolveModality = (p: RescaleParams, image: Omit<Image, "data">): ResolvedModality => {
  const meta = image.meta;
  if (image.shape[1] > 1) return { type: "identity" };
  if (meta.modalityLut && p.slope === undefined && p.intercept === undefined) {
    const notes = { rescale: { lut: true, explanation: meta.modalityLut.explanation } };
    return { type: "lut", lut: meta.modalityLut, notes };
  }
  const slope = p.slope ?? meta.rescaleSlope;
  const intercept = p.intercept ?? meta.rescaleIntercept;
  return { type: "linear", slope, intercept, notes: { rescale: { slope, intercept } } };
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
        case "linear":
          return Effect.succeed({ values: { slope: m.slope, intercept: m.intercept }, notes: m.notes });
      }
    },
    cpu: ({ slope, intercept }) => (x) => slope * x + intercept,
  },
});
