/**
 * `topk`: the k best classes per frame of a `[frames, classes]` prediction, as a `[frames, 2, k]` tensor
 * (scores, then class indices), with labels from a labels file (or the `infer` stage's `labels`) for
 * `write json` and the CLI's summary. GPU: shaders/axis.wgsl `topk_axis`.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import {
  activationOf,
  type ClassScore,
  classScore,
  defineStage,
  type FramePrediction,
  type Image,
  labelsOf,
  readLabels,
  withData,
} from "../../plugin.ts";
import { topkAxis } from "./axis.ts";
import { runAxis } from "./axis_gpu.ts";

const Params = Schema.Struct({
  k: Schema.optionalKey(
    Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 64 })).annotate({
      description: "default 5 (at most the number of classes)",
    }),
  ),
  labels: Schema.optionalKey(
    Schema.String.annotate({ description: "text file, one label per line (default: infer's)" }),
  ),
});

/** Parameters of the `topk` stage. */
export type TopkParams = typeof Params.Type & { readonly labelList?: ReadonlyArray<string> };

const kOf = (p: TopkParams, classes: number) => Math.min(p.k ?? 5, classes);

const notes = (p: TopkParams, classes: number) => ({
  topk: { k: kOf(p, classes) },
  ...(p.labelList ? { labels: p.labelList } : {}),
});

/** Per frame of a `[frames, 2, k]` top-k block: the k classes with their scores and labels. */
const topClasses = (image: Image): ReadonlyArray<FramePrediction> | undefined => {
  if (image.shape.length !== 3 || image.shape[1] !== 2) return undefined;
  const [frames, , k] = image.shape;
  const labels = labelsOf(image);
  const activation = activationOf(image);
  return Array.from({ length: frames }, (_, f) => {
    const top: ClassScore[] = [];
    for (let j = 0; j < k; j++) {
      top.push(classScore(image.data[f * 2 * k + k + j], image.data[f * 2 * k + j], labels));
    }
    return { frame: f, top, activation };
  });
};

/** The `topk` stage. */
export const topk = defineStage({
  name: "topk",
  description:
    "The k best classes per frame as [frames, 2, k] (scores, indices), labelled for json and the summary",
  params: Params as Schema.Decoder<TopkParams>,
  examples: [{ k: 3 }, { k: 5, labels: "../models/labels.txt" }],
  accepts: ["prediction"],
  produces: "prediction",
  setup: (p, { pipelineDir }) =>
    p.labels === undefined
      ? Effect.succeed(p)
      : Effect.map(readLabels(pipelineDir, p.labels), (labelList) => ({ ...p, labelList })),
  plan: (p, spec) => {
    if (spec.dims && spec.dims.length !== 1) {
      return `topk needs a [frames, classes] prediction; this one is [frames, ${
        spec.dims.map((d) => d ?? "?").join(", ")
      }]`;
    }
    const classes = spec.dims?.[0] ?? null;
    const k = classes === null ? p.k ?? 5 : kOf(p, classes);
    return { ...spec, dims: [2, k] };
  },
  run: (image, p) =>
    Effect.sync(() => {
      const classes = image.shape[1];
      const k = kOf(p, classes);
      return withData(image, topkAxis(image.data, image.shape, k), {
        shape: [image.shape[0], 2, k],
        notes: notes(p, classes),
      });
    }),
  gpu: {
    kind: "kernel",
    recordsOnly: true,
    run: (p, batch) => {
      const k = kOf(p, batch.shape[1]);
      return Effect.map(
        runAxis(batch, "topk_axis", k),
        ({ buffer }) => ({ ...batch, buffer, shape: [batch.shape[0], 2, k] }),
      );
    },
    notes: (p, image) => notes(p, image.shape[1]),
  },
  summarize: topClasses,
});
