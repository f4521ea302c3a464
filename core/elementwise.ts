/**
 * Elementwise stages on the CPU: the `run` of a stage that has only an elementwise form, applying its
 * `cpu` function with the image's field values.
 *
 * Tensors are viewed as `[frames, channels, rest]` (axis 1 is the channel of images, the class of
 * predictions), as the fused GPU kernel views them; a stage that widens one channel to several reads
 * channel 0 for each output channel.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { tensorBuffer } from "./cpu/tensor_pool.ts";
import type { CodedError } from "./errors.ts";
import { type AnyImageStage, type Elementwise, outputKind } from "./stage.ts";
import { type Image, type Shape, withData } from "./tensor.ts";
import { frameMeta } from "../dicom/mod.ts";

/** The `[frames, channels, rest]` view of a shape. */
export const channelView = (shape: Shape) => {
  const frames = shape[0];
  const channels = shape.length > 1 ? shape[1] : 1;
  const plane = shape.slice(2).reduce((a, b) => a * b, 1);
  return { frames, channels, plane };
};

/** `shape` with `channels` on axis 1. */
export const withChannels = (shape: Shape, channels: number): Shape =>
  shape.length > 1 ? [shape[0], channels, ...shape.slice(2)] : shape;

/** Applies `f(x, c)` to every value, widening 1 channel to `outChannels` when they differ. */
export const mapChannels = (
  src: Float32Array,
  shape: Shape,
  outChannels: number,
  f: (x: number, c: number) => number,
): Float32Array => mapFrames(src, shape, outChannels, () => f);

/**
 * Applies frame `fr`'s `fnOf(fr)(x, c)` to every value of the frame, widening 1 channel to `outChannels`
 * (a stage whose frames each have their own function: an enhanced object's per-frame values).
 */
export const mapFrames = (
  src: Float32Array,
  shape: Shape,
  outChannels: number,
  fnOf: (frame: number) => (x: number, c: number) => number,
): Float32Array => {
  const { frames, channels, plane } = channelView(shape);
  const out = tensorBuffer(frames * outChannels * plane);
  for (let fr = 0; fr < frames; fr++) {
    const f = fnOf(fr);
    for (let c = 0; c < outChannels; c++) {
      const s = (fr * channels + (channels === 1 ? 0 : c)) * plane;
      const d = (fr * outChannels + c) * plane;
      for (let i = 0; i < plane; i++) out[d + i] = f(src[s + i], c);
    }
  }
  return out;
};

/**
 * Runs an elementwise form on one image: values, then the function over every value (each frame's own
 * values when the image's frames have their own, `KernelValues.perFrame`).
 */
export const runElementwise = <P>(
  stage: AnyImageStage,
  form: Elementwise<P>,
  image: Image,
  params: P,
): Effect.Effect<Image, CodedError> =>
  Effect.flatMap(form.values(params, image), ({ values, notes, perFrame }) => {
    const channels = channelView(image.shape).channels;
    const outChannels = form.channels?.(params, channels) ?? channels;
    const made = perFrame
      ? Effect.map(framesValues(form, params, image), (each) => {
        const fns = each.map(form.cpu);
        return mapFrames(image.data, image.shape, outChannels, (f) => fns[f]);
      })
      : Effect.succeed(mapChannels(image.data, image.shape, outChannels, form.cpu(values)));
    return Effect.map(made, (data) =>
      withData(image, data, {
        shape: withChannels(image.shape, outChannels),
        kind: outputKind(stage, image.kind),
        ...(notes ? { notes: { ...notes } } : {}),
      }));
  });

/** The header of frame `f` alone (one frame, its own slope and windows: `frameMeta`). */
export const frameHeader = (header: Omit<Image, "data">, f: number): Omit<Image, "data"> => ({
  ...header,
  shape: [1, ...header.shape.slice(1)],
  meta: frameMeta(header.meta, f),
});

/** Each frame's field values, asked for with the frame's own header. */
const framesValues = <P>(form: Elementwise<P>, params: P, image: Omit<Image, "data">) =>
  Effect.forEach(
    Array.from({ length: image.shape[0] }, (_, f) => f),
    (f) =>
      Effect.flatMap(form.values(params, frameHeader(image, f)), (v) =>
        v.perFrame
          ? Effect.die(new Error(`${form.entry}: frame ${f}'s header still asks for values per frame`))
          : Effect.succeed(v.values)),
  );

/** The CPU form of an image stage: its `run`, or its elementwise function applied. */
export const imageRun = (stage: AnyImageStage) =>
  stage.run ??
    ((image: Image, params: unknown) => runElementwise(stage, stage.elementwise!, image, params));
