/**
 * `argmax`: the index of the largest value along axis 1 - the class of `[frames, classes]` (-> `[frames]`),
 * or a label map from a multi-class mask `[frames, classes, rows, cols]` (-> `[frames, rows, cols]`).
 * GPU: shaders/axis.wgsl `argmax_axis`.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { defineStage, withData } from "../../plugin.ts";
import { argmaxAxis } from "./axis.ts";
import { runAxis } from "./axis_gpu.ts";

const dropAxis = (shape: ReadonlyArray<number>) => [shape[0], ...shape.slice(2)];

/** The `argmax` stage. */
export const argmax = defineStage({
  name: "argmax",
  description: "Index of the largest value along axis 1: classes -> [frames], class masks -> label maps",
  params: Schema.Struct({}),
  accepts: ["prediction"],
  produces: "prediction",
  plan: (_p, spec) => ({ ...spec, dims: spec.dims ? spec.dims.slice(1) : spec.dims }),
  run: (image) =>
    Effect.sync(() =>
      withData(image, argmaxAxis(image.data, image.shape), {
        shape: dropAxis(image.shape),
        notes: { argmax: { axis: 1 } },
      })
    ),
  gpu: {
    kind: "kernel",
    recordsOnly: true,
    run: (_p, batch) =>
      Effect.map(
        runAxis(batch, "argmax_axis"),
        ({ buffer }) => ({ ...batch, buffer, shape: dropAxis(batch.shape) }),
      ),
    notes: () => ({ argmax: { axis: 1 } }),
  },
});
