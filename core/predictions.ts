/**
 * Readable predictions from a `prediction` tensor: what `write json` records and the CLI's end-of-run table
 * shows.
 *
 * - After `topk` (a `[frames, 2, k]` tensor of scores and indices): per frame the k best classes.
 * - A `[frames, classes]` tensor: per frame the best class (argmax) and its score.
 * - A mask `[frames, 1, rows, cols]` (e.g. after `threshold`): per frame the fraction of positive pixels.
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

const labelOf = (labels: ReadonlyArray<string> | undefined, i: number) => labels?.[i];

/** The activation the scores went through, from the stages' notes. */
const activationOf = (image: Image): string =>
  image.notes.softmax ? "softmax" : image.notes.sigmoid ? "sigmoid" : "none (logits)";

/** Per-frame predictions of an image, or undefined when it is not a prediction. */
export const summarizePredictions = (image: Image): ReadonlyArray<FramePrediction> | undefined => {
  if (image.kind !== "prediction") return undefined;
  const labels = image.notes.labels as ReadonlyArray<string> | undefined;
  const frames = image.shape[0];
  const out: FramePrediction[] = [];
  const topk = image.notes.topk as { k: number } | undefined;
  if (topk && image.shape.length === 3 && image.shape[1] === 2) {
    const k = topk.k;
    for (let f = 0; f < frames; f++) {
      const top: ClassScore[] = [];
      for (let j = 0; j < k; j++) {
        const index = image.data[f * 2 * k + k + j];
        const label = labelOf(labels, index);
        top.push({ index, ...(label !== undefined ? { label } : {}), score: image.data[f * 2 * k + j] });
      }
      out.push({ frame: f, top, activation: activationOf(image) });
    }
    return out;
  }
  if (image.shape.length === 2) {
    const classes = image.shape[1];
    for (let f = 0; f < frames; f++) {
      let best = 0;
      for (let c = 1; c < classes; c++) {
        if (image.data[f * classes + c] > image.data[f * classes + best]) best = c;
      }
      const label = labelOf(labels, best);
      out.push({
        frame: f,
        top: [{
          index: best,
          ...(label !== undefined ? { label } : {}),
          score: image.data[f * classes + best],
        }],
        activation: activationOf(image),
      });
    }
    return out;
  }
  if (image.shape.length === 4 && image.shape[1] === 1 && image.notes.threshold) {
    const plane = image.shape[2] * image.shape[3];
    for (let f = 0; f < frames; f++) {
      let pos = 0;
      for (let i = f * plane; i < (f + 1) * plane; i++) if (image.data[i] > 0) pos++;
      out.push({ frame: f, positiveFraction: pos / plane, pixels: pos });
    }
    return out;
  }
  return undefined;
};

/** One line per frame for the CLI summary, e.g. `nodule 0.973` or `mask 2.4% (97 px)`. */
export const describeFramePrediction = (p: FramePrediction): string =>
  "top" in p
    ? p.top.map((c) => `${c.label ?? `class ${c.index}`} ${c.score.toFixed(3)}`).join(", ")
    : `mask ${(p.positiveFraction * 100).toFixed(1)}% (${p.pixels} px)`;
