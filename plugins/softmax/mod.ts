/**
 * `softmax`: class probabilities from logits, along axis 1 (classes of `[frames, classes]`, or the channels
 * of a mask `[frames, classes, rows, cols]`). GPU: shaders/axis.wgsl `softmax_axis`.
 *
 * @module
 */
import { Effect, Schema } from "effect";
import { softmaxAxis } from "../../core/cpu/axis.ts";
import { runAxis } from "../../core/gpu/axis.ts";
import { defineStage } from "../../core/stage.ts";
import { withData } from "../../core/tensor.ts";

/** The `softmax` stage. */
export const softmax = defineStage({
  name: "softmax",
  description: "Probabilities from logits along axis 1 (classes), numerically stable",
  params: Schema.Struct({}),
  accepts: ["prediction"],
  produces: "prediction",
  run: (image) =>
    Effect.sync(() =>
      withData(image, softmaxAxis(image.data, image.shape), { notes: { softmax: { axis: 1 } } })
    ),
  gpu: {
    kind: "kernel",
    run: (_p, batch) => Effect.map(runAxis(batch, "softmax_axis"), ({ buffer }) => ({ ...batch, buffer })),
    notes: () => ({ softmax: { axis: 1 } }),
  },
});
