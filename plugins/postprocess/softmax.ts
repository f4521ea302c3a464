/**
 * `softmax`: class probabilities from logits, along axis 1 (classes of `[frames, classes]`, or the channels
 * of a mask `[frames, classes, rows, cols]`). GPU: shaders/axis.wgsl `softmax_axis`.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { ACTIVATION_NOTE, classScores, defineStage, withData } from "../../plugin.ts";
import { softmaxAxis } from "./axis.ts";
import { runAxis } from "./axis_gpu.ts";

const NOTES = { softmax: { axis: 1 }, [ACTIVATION_NOTE]: "softmax" };

/** The `softmax` stage. */
export const softmax = defineStage({
  name: "softmax",
  description: "Probabilities from logits along axis 1 (classes), numerically stable",
  params: Schema.Struct({}),
  accepts: ["prediction"],
  produces: "prediction",
  run: (image) => Effect.sync(() => withData(image, softmaxAxis(image.data, image.shape), { notes: NOTES })),
  gpu: {
    kind: "kernel",
    recordsOnly: true,
    run: (_p, batch) => Effect.map(runAxis(batch, "softmax_axis"), ({ buffer }) => ({ ...batch, buffer })),
    notes: () => NOTES,
  },
  summarize: classScores,
});
