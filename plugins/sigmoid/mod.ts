/**
 * `sigmoid`: independent probabilities from logits (multi-label classifiers, binary masks), elementwise.
 * GPU: shaders/sigmoid.wgsl, fused with neighbouring elementwise stages.
 *
 * @module
 */
import { Effect, Schema } from "effect";
import { shader, shaderPath } from "../../core/gpu/shaders.ts";
import { defineStage } from "../../core/stage.ts";
import { withData } from "../../core/tensor.ts";

/** The `sigmoid` stage. */
export const sigmoid = defineStage({
  name: "sigmoid",
  description: "Independent probabilities 1 / (1 + exp(-x)) from logits (multi-label, masks)",
  params: Schema.Struct({}),
  accepts: ["prediction"],
  produces: "prediction",
  run: (image) =>
    Effect.sync(() =>
      withData(image, image.data.map((x) => 1 / (1 + Math.exp(-x))), { notes: { sigmoid: {} } })
    ),
  gpu: {
    kind: "elementwise",
    wgsl: shader("sigmoid"),
    source: shaderPath("sigmoid"),
    entry: "sigmoid",
    fields: [],
    values: () => Effect.succeed({ values: {}, notes: { sigmoid: {} } }),
  },
});
