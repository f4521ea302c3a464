/**
 * Readable predictions: what `write json` records, the ledger keeps per input and the CLI's end-of-run table
 * shows.
 *
 * Core knows only the summary's shape, not tensor layouts: a stage that produces a prediction layout says how
 * to read it (`summarize`, see stage.ts), and the runtime applies the most recent such stage's `summarize` to
 * an image before every CPU stage and at the end of an input ({@link attachPredictions}).
 * {@link classScores} reads the contract's `[frames, classes]` layout, for stages that produce it.
 *
 * @module
 */
import type { Image } from "./tensor.ts";

/** One class of one frame. */
export interface ClassScore {
  readonly index: number;
  readonly label?: string;
  readonly score: number;
}

/** What one frame's prediction says. */
export type FramePrediction =
  | { readonly frame: number; readonly top: ReadonlyArray<ClassScore>; readonly activation: string }
  | { readonly frame: number; readonly positiveFraction: number; readonly pixels: number };

/** The note key under which activation stages (softmax, sigmoid) record their name. */
export const ACTIVATION_NOTE = "activation";

/** What the scores of an image went through: its `activation` note, else "none (logits)". */
export const activationOf = (image: Image): string => {
  const a = image.notes[ACTIVATION_NOTE];
  return typeof a === "string" ? a : "none (logits)";
};

/** The labels recorded by `infer`/`topk` (note `labels`), if any. */
export const labelsOf = (image: Image): ReadonlyArray<string> | undefined =>
  image.notes.labels as ReadonlyArray<string> | undefined;

/** A class with its label when one is known. */
export const classScore = (index: number, score: number, labels?: ReadonlyArray<string>): ClassScore => {
  const label = labels?.[index];
  return { index, ...(label !== undefined ? { label } : {}), score };
};

/**
 * The best class of each frame of a `[frames, classes]` prediction (the first on ties), or undefined for
 * any other shape.
 */
export const classScores = (image: Image): ReadonlyArray<FramePrediction> | undefined => {
  if (image.kind !== "prediction" || image.shape.length !== 2) return undefined;
  const [frames, classes] = image.shape;
  const labels = labelsOf(image);
  const activation = activationOf(image);
  const out: FramePrediction[] = [];
  for (let f = 0; f < frames; f++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (image.data[f * classes + c] > image.data[f * classes + best]) best = c;
    }
    out.push({ frame: f, top: [classScore(best, image.data[f * classes + best], labels)], activation });
  }
  return out;
};

/** A stage that may say how to read its output (the planner's view of an image stage). */
interface Summarizer {
  readonly stage: {
    readonly summarize?: (image: Image, params: never) => ReadonlyArray<FramePrediction> | undefined;
  };
  readonly params: unknown;
}

/**
 * `image` with `predictions` from the most recent of `stages` (in order; the last one ran last) whose
 * `summarize` reads it; unchanged when the image is not a prediction or none does.
 */
export const attachPredictions = (stages: ReadonlyArray<Summarizer>, image: Image): Image => {
  if (image.kind !== "prediction") return image;
  for (let i = stages.length - 1; i >= 0; i--) {
    const summarize = stages[i].stage.summarize as
      | ((image: Image, params: unknown) => ReadonlyArray<FramePrediction> | undefined)
      | undefined;
    const predictions = summarize?.(image, stages[i].params);
    if (predictions) return { ...image, predictions };
  }
  return image;
};
