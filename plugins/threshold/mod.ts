/**
 * `threshold`: a binary mask, 1 where the value is at least `value` (default 0.5), else 0.
 * GPU: shaders/threshold.wgsl, fused with neighbouring elementwise stages (e.g. after `sigmoid`).
 *
 * @module
 */
import { Effect, Schema } from "effect";
import { shader, shaderPath } from "../../core/gpu/shaders.ts";
import { defineStage } from "../../core/stage.ts";
import { withData } from "../../core/tensor.ts";

const Params = Schema.Struct({
  value: Schema.optionalKey(Schema.Finite.annotate({ description: "cut-off, default 0.5 (>= is positive)" })),
});

/** The `threshold` stage. */
export const threshold = defineStage({
  name: "threshold",
  description: "Binary mask: 1 where x >= value (default 0.5), else 0",
  params: Params,
  examples: [{ value: 0.5 }],
  accepts: ["prediction"],
  produces: "prediction",
  run: (image, p) =>
    Effect.sync(() => {
      const t = p.value ?? 0.5;
      return withData(image, image.data.map((x) => (x >= t ? 1 : 0)), { notes: { threshold: { value: t } } });
    }),
  gpu: {
    kind: "elementwise",
    wgsl: shader("threshold"),
    source: shaderPath("threshold"),
    entry: "threshold",
    fields: ["value"],
    values: (p) =>
      Effect.succeed({ values: { value: p.value ?? 0.5 }, notes: { threshold: { value: p.value ?? 0.5 } } }),
  },
});
