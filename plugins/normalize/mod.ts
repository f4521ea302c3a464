/**
 * `normalize`: per-channel (x - mean) / std, as torchvision's `Normalize`, optionally replicating a
 * grayscale channel to 3 first (`channels: 3`) for models trained on RGB.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { CpuFallback, defineStage, StageError, wgslFile, withData } from "../../plugin.ts";

const Params = Schema.Struct({
  mean: Schema.NonEmptyArray(Schema.Finite).annotate({
    description: "per-channel mean (one value: all channels)",
  }),
  std: Schema.NonEmptyArray(Schema.Finite.check(Schema.isGreaterThan(0))).annotate({
    description: "per-channel standard deviation (> 0)",
  }),
  channels: Schema.optionalKey(
    Schema.Literals([1, 3]).annotate({ description: "replicate grayscale to 3 channels first (RGB models)" }),
  ),
});

/** Channels the GPU kernel handles (shaders/normalize.wgsl). */
const MAX_CHANNELS = 3;
const MEAN_FIELDS = ["mean0", "mean1", "mean2"];
const INV_FIELDS = ["inv0", "inv1", "inv2"];

/** Parameters of the `normalize` stage. */
export type NormalizeParams = typeof Params.Type;

/** (x - mean[c]) / std[c] over [frames, channels, rows, cols], replicating 1 -> `outChannels` channels. */
export const normalizeCpu = (
  src: Float32Array,
  shape: ReadonlyArray<number>,
  mean: ReadonlyArray<number>,
  std: ReadonlyArray<number>,
  outChannels: number,
): Float32Array => {
  const [frames, channels, rows, cols] = shape;
  const plane = rows * cols;
  const out = new Float32Array(frames * outChannels * plane);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < outChannels; c++) {
      const m = mean.length === 1 ? mean[0] : mean[c];
      const inv = 1 / (std.length === 1 ? std[0] : std[c]);
      const s = (f * channels + (channels === 1 ? 0 : c)) * plane;
      const d = (f * outChannels + c) * plane;
      for (let i = 0; i < plane; i++) out[d + i] = (src[s + i] - m) * inv;
    }
  }
  return out;
};

const checkChannels = (p: NormalizeParams, channels: number | null): string | undefined => {
  const out = p.channels ?? channels;
  if (p.channels === 1 && channels !== null && channels > 1) {
    return `channels: 1 cannot reduce ${channels} channels; remove it`;
  }
  if (p.mean.length !== p.std.length) return `mean has ${p.mean.length} values but std has ${p.std.length}`;
  if (out !== null && p.mean.length !== 1 && p.mean.length !== out) {
    return `mean/std have ${p.mean.length} values for ${out} channels; give 1 or ${out}`;
  }
  return undefined;
};

/** The `normalize` stage. */
export const normalize = defineStage({
  name: "normalize",
  description: "Per-channel (x - mean) / std like torchvision Normalize; channels: 3 replicates grayscale",
  params: Params,
  examples: [{ mean: [0.5], std: [0.5] }, {
    mean: [0.485, 0.456, 0.406],
    std: [0.229, 0.224, 0.225],
    channels: 3,
  }],
  accepts: ["display", "modality", "features"],
  produces: "features",
  plan: (p, input) =>
    checkChannels(p, input.channels) ??
      { ...input, kind: "features", channels: p.channels ?? input.channels },
  run: (image, p) =>
    Effect.suspend(() => {
      const channels = image.shape[1];
      const problem = checkChannels(p, channels);
      if (problem) return Effect.fail(new StageError({ code: "CHANNEL_MISMATCH", message: problem }));
      const out = p.channels ?? channels;
      const data = normalizeCpu(image.data, image.shape, p.mean, p.std, out);
      return Effect.succeed(withData(image, data, {
        kind: "features",
        shape: [image.shape[0], out, image.shape[2], image.shape[3]],
        notes: { normalize: { mean: p.mean, std: p.std, channels: out } },
      }));
    }),
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/normalize.wgsl"),
    entry: "normalize",
    fields: [...MEAN_FIELDS, ...INV_FIELDS],
    constants: { NORMALIZE_MAX_CHANNELS: MAX_CHANNELS },
    channels: (p, inputChannels) => p.channels ?? inputChannels,
    affine: true,
    values: (p, image) => {
      const channels = image.shape[1];
      const problem = checkChannels(p, channels);
      if (problem) return Effect.fail(new StageError({ code: "CHANNEL_MISMATCH", message: problem }));
      if (Math.max(p.channels ?? channels, p.mean.length) > MAX_CHANNELS) {
        const message = `the fused normalize handles up to ${MAX_CHANNELS} channels`;
        return Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message }));
      }
      const values: Record<string, number> = {};
      for (let c = 0; c < MAX_CHANNELS; c++) {
        values[MEAN_FIELDS[c]] = p.mean.length === 1 ? p.mean[0] : p.mean[c] ?? 0;
        values[INV_FIELDS[c]] = 1 / (p.std.length === 1 ? p.std[0] : p.std[c] ?? 1);
      }
      const out = p.channels ?? channels;
      return Effect.succeed({ values, notes: { normalize: { mean: p.mean, std: p.std, channels: out } } });
    },
    cpu: (v) => {
      const mean = MEAN_FIELDS.map((f) => v[f]);
      const inv = INV_FIELDS.map((f) => v[f]);
      return (x, c) => (x - mean[c]) * inv[c];
    },
  },
});
