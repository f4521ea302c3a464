/**
 * `rescale`: the Modality LUT - stored values to modality units (Hounsfield units for CT).
 *
 * Uses RescaleSlope/RescaleIntercept (1 and 0 when absent) or the Modality LUT Sequence when the file has
 * one. `slope`/`intercept` in the pipeline override the file (for archives with missing tags).
 * Colour images have no Modality LUT and pass through unchanged.
 *
 * @module
 */
import { Effect, Schema } from "effect";
import { CpuFallback } from "../../core/gpu/device.ts";
import { shader, shaderPath } from "../../core/gpu/shaders.ts";
import { defineStage } from "../../core/stage.ts";
import { withData } from "../../core/tensor.ts";
import { applyModalityLut, applyRescale } from "./modality.ts";

const Params = Schema.Struct({
  slope: Schema.optionalKey(Schema.Finite.annotate({ description: "override RescaleSlope" })),
  intercept: Schema.optionalKey(Schema.Finite.annotate({ description: "override RescaleIntercept" })),
});

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
      const meta = image.meta;
      if (image.shape[1] > 1) return withData(image, image.data, { kind: "modality" });
      if (meta.modalityLut && p.slope === undefined && p.intercept === undefined) {
        return withData(image, applyModalityLut(image.data, meta.modalityLut), {
          kind: "modality",
          notes: { rescale: { lut: true, explanation: meta.modalityLut.explanation } },
        });
      }
      const slope = p.slope ?? meta.rescaleSlope;
      const intercept = p.intercept ?? meta.rescaleIntercept;
      const data = slope === 1 && intercept === 0 ? image.data : applyRescale(image.data, slope, intercept);
      return withData(image, data, { kind: "modality", notes: { rescale: { slope, intercept } } });
    }),
  gpu: {
    kind: "elementwise",
    wgsl: shader("rescale"),
    source: shaderPath("rescale"),
    entry: "rescale",
    fields: ["slope", "intercept"],
    values: (p, image) => {
      const meta = image.meta;
      if (image.shape[1] > 1) return Effect.succeed({ values: { slope: 1, intercept: 0 } });
      if (meta.modalityLut && p.slope === undefined && p.intercept === undefined) {
        return Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message: "Modality LUT Sequence" }));
      }
      const slope = p.slope ?? meta.rescaleSlope;
      const intercept = p.intercept ?? meta.rescaleIntercept;
      return Effect.succeed({ values: { slope, intercept }, notes: { rescale: { slope, intercept } } });
    },
  },
});
