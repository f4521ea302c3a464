/**
 * `threshold`: a binary mask, 1 where the value is at least `value` (default 0.5), else 0.
 * GPU: shaders/threshold.wgsl, fused with neighbouring elementwise stages (e.g. after `sigmoid`).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { defineStage, type FramePrediction, type Image, wgslFile } from "../../plugin.ts";

const Params = Schema.Struct({
  value: Schema.optionalKey(Schema.Finite.annotate({ description: "cut-off, default 0.5 (>= is positive)" })),
});

/** Per frame of a mask `[frames, 1, rows, cols]`: the fraction (and number) of positive pixels. */
const maskFractions = (image: Image): ReadonlyArray<FramePrediction> | undefined => {
  if (image.shape.length !== 4 || image.shape[1] !== 1) return undefined;
  const plane = image.shape[2] * image.shape[3];
  return Array.from({ length: image.shape[0] }, (_, f) => {
    let pixels = 0;
    for (let i = f * plane; i < (f + 1) * plane; i++) if (image.data[i] > 0) pixels++;
    return { frame: f, positiveFraction: pixels / plane, pixels };
  });
};

/** The `threshold` stage. */
export const threshold = defineStage({
  name: "threshold",
  description: "Binary mask: 1 where x >= value (default 0.5), else 0",
  params: Params,
  examples: [{ value: 0.5 }],
  accepts: ["prediction"],
  produces: "prediction",
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/threshold.wgsl"),
    entry: "threshold",
    fields: ["value"],
    values: (p) =>
      Effect.succeed({ values: { value: p.value ?? 0.5 }, notes: { threshold: { value: p.value ?? 0.5 } } }),
    cpu: ({ value }) => (x) => (x >= value ? 1 : 0),
  },
  summarize: maskFractions,
});
