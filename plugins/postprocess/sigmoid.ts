/**
 * `sigmoid`: independent probabilities from logits (multi-label classifiers, binary masks), elementwise.
 * GPU: shaders/sigmoid.wgsl, fused with neighbouring elementwise stages.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { ACTIVATION_NOTE, classScores, defineStage, wgslFile } from "../../plugin.ts";

/** The `sigmoid` stage. */
export const sigmoid = defineStage({
  name: "sigmoid",
  description: "Independent probabilities 1 / (1 + exp(-x)) from logits (multi-label, masks)",
  params: Schema.Struct({}),
  accepts: ["prediction"],
  produces: "prediction",
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/sigmoid.wgsl"),
    entry: "sigmoid",
    fields: [],
    values: () => Effect.succeed({ values: {}, notes: { sigmoid: {}, [ACTIVATION_NOTE]: "sigmoid" } }),
    cpu: () => (x) => 1 / (1 + Math.exp(-x)),
  },
  summarize: classScores,
});
