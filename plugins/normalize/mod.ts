/**
 * `normalize`: per-channel (x - mean) / std, as torchvision's `Normalize` (`mode: standard`, the default), or
 * min-max scaling of each image's values to `range` (`mode: minmax`, see minmax.ts), optionally replicating a
 * grayscale channel to 3 (`channels: 3`) for models trained on RGB.
 *
 * Mean/std is elementwise (fused with its neighbours on the CPU and the GPU); min-max depends on the values,
 * so it runs as `run` on the CPU and as a reduction kernel on the GPU (minmax_gpu.ts).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { CpuFallback, defineStage, StageError, wgslFile, withData } from "../../plugin.ts";
import { minmaxCpu, type MinmaxOptions } from "./minmax.ts";
import { minmaxBatch } from "./minmax_gpu.ts";

const Params = Schema.Struct({
  mode: Schema.optionalKey(
    Schema.Literals(["standard", "minmax"]).annotate({
      description: "standard: (x - mean) / std (default); minmax: each image's min..max to range",
    }),
  ),
  mean: Schema.optionalKey(
    Schema.NonEmptyArray(Schema.Finite).annotate({
      description: "mode standard: per-channel mean (one value: all channels)",
    }),
  ),
  std: Schema.optionalKey(
    Schema.NonEmptyArray(Schema.Finite.check(Schema.isGreaterThan(0))).annotate({
      description: "mode standard: per-channel standard deviation (> 0)",
    }),
  ),
  per: Schema.optionalKey(
    Schema.Literals(["image", "frame", "channel", "plane"]).annotate({
      description: "mode minmax: one min/max per image (default), frame, channel (across frames) or plane",
    }),
  ),
  range: Schema.optionalKey(
    Schema.Tuple([Schema.Finite, Schema.Finite]).annotate({
      description: "mode minmax: output [lo, hi] (default [0, 1]); a constant image gives lo",
    }),
  ),
  clip: Schema.optionalKey(
    Schema.Tuple([Schema.Finite, Schema.Finite]).annotate({
      description: "mode minmax: use the [p_lo, p_hi] percentiles (numpy.percentile, linear) as min/max",
    }),
  ),
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

const isMinmax = (p: NormalizeParams): boolean => p.mode === "minmax";

/** The min-max settings of `p` (defaults filled in). */
export const minmaxOptions = (p: NormalizeParams): MinmaxOptions => ({
  per: p.per ?? "image",
  range: p.range ?? [0, 1],
  ...(p.clip ? { clip: p.clip } : {}),
});

/** What is wrong with a combination of parameters (found at plan time), if anything. */
const checkParams = (p: NormalizeParams): string | undefined => {
  if (isMinmax(p)) {
    if (p.mean || p.std) {
      return "mean/std are for mode: standard; mode: minmax scales each image's own min..max to range - " +
        "remove mean and std, or remove mode: minmax";
    }
    if (p.range && !(p.range[0] < p.range[1])) {
      return `range: [${p.range.join(", ")}] must be [lo, hi] with lo < hi`;
    }
    if (p.clip && !(p.clip[0] >= 0 && p.clip[0] < p.clip[1] && p.clip[1] <= 100)) {
      return `clip: [${p.clip.join(", ")}] are percentiles [p_lo, p_hi] with 0 <= p_lo < p_hi <= 100`;
    }
    return undefined;
  }
  const extra = (["per", "range", "clip"] as const).filter((k) => p[k] !== undefined);
  if (extra.length > 0) {
    return `${extra.join(", ")} ${extra.length === 1 ? "applies" : "apply"} to mode: minmax only; ` +
      "add mode: minmax, or remove them";
  }
  if (!p.mean || !p.std) {
    return "mode: standard needs mean and std (e.g. with: { mean: [0.5], std: [0.5] }); " +
      "for min-max scaling use with: { mode: minmax }";
  }
  if (p.mean.length !== p.std.length) return `mean has ${p.mean.length} values but std has ${p.std.length}`;
  return undefined;
};

const checkChannels = (p: NormalizeParams, channels: number | null): string | undefined => {
  const out = p.channels ?? channels;
  if (p.channels === 1 && channels !== null && channels > 1) {
    return `channels: 1 cannot reduce ${channels} channels; remove it`;
  }
  if (p.channels === 3 && channels !== null && channels !== 1 && channels !== 3) {
    return `channels: 3 replicates one gray channel, but the image has ${channels}; remove it`;
  }
  const n = p.mean?.length ?? 1;
  if (out !== null && n !== 1 && n !== out) {
    return `mean/std have ${n} values for ${out} channels; give 1 or ${out}`;
  }
  return undefined;
};

const channelMismatch = (message: string) =>
  Effect.fail(new StageError({ code: "CHANNEL_MISMATCH", message }));

/** What the stage records about an image (the same on the CPU and the GPU). */
const notesOf = (p: NormalizeParams, channels: number) => ({
  normalize: isMinmax(p)
    ? { mode: "minmax", ...minmaxOptions(p), channels }
    : { mean: p.mean, std: p.std, channels },
});

/** The `normalize` stage. */
export const normalize = defineStage({
  name: "normalize",
  description:
    "Per-channel (x - mean) / std like torchvision Normalize, or min-max scaling (mode: minmax); " +
    "channels: 3 replicates grayscale",
  params: Params,
  examples: [
    { mean: [0.5], std: [0.5] },
    {
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
      channels: 3,
    },
    { mode: "minmax" },
    { mode: "minmax", per: "frame", range: [-1, 1], clip: [0.5, 99.5] },
  ],
  accepts: ["display", "modality", "features"],
  produces: "features",
  plan: (p, input) =>
    checkParams(p) ?? checkChannels(p, input.channels) ??
      { ...input, kind: "features", channels: p.channels ?? input.channels },
  run: (image, p) =>
    Effect.suspend(() => {
      const channels = image.shape[1];
      const problem = checkParams(p) ?? checkChannels(p, channels);
      if (problem) return channelMismatch(problem);
      const out = p.channels ?? channels;
      const data = isMinmax(p)
        ? minmaxCpu(image.data, image.shape, minmaxOptions(p), out)
        : normalizeCpu(image.data, image.shape, p.mean!, p.std!, out);
      return Effect.succeed(withData(image, data, {
        kind: "features",
        shape: [image.shape[0], out, image.shape[2], image.shape[3]],
        notes: notesOf(p, out),
      }));
    }),
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/normalize.wgsl"),
    entry: "normalize",
    fields: [...MEAN_FIELDS, ...INV_FIELDS],
    constants: { NORMALIZE_MAX_CHANNELS: MAX_CHANNELS },
    channels: (p, inputChannels) => p.channels ?? inputChannels,
    affine: true,
    // Min-max depends on the values, not only the header: it is not elementwise - `run` on the CPU, the
    // kernel form below on the GPU (and `values` declines it with CpuFallback, should anything ask).
    applies: (p) => !isMinmax(p),
    values: (p, image) => {
      const channels = image.shape[1];
      if (isMinmax(p)) {
        const message = "min-max scaling depends on the pixel values, not only the header";
        return Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message }));
      }
      const problem = checkParams(p) ?? checkChannels(p, channels);
      if (problem) return channelMismatch(problem);
      const mean = p.mean!;
      const std = p.std!;
      if (Math.max(p.channels ?? channels, mean.length) > MAX_CHANNELS) {
        const message = `the fused normalize handles up to ${MAX_CHANNELS} channels`;
        return Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message }));
      }
      const values: Record<string, number> = {};
      for (let c = 0; c < MAX_CHANNELS; c++) {
        values[MEAN_FIELDS[c]] = mean.length === 1 ? mean[0] : mean[c] ?? 0;
        values[INV_FIELDS[c]] = 1 / (std.length === 1 ? std[0] : std[c] ?? 1);
      }
      return Effect.succeed({ values, notes: notesOf(p, p.channels ?? channels) });
    },
    cpu: (v) => {
      const mean = MEAN_FIELDS.map((f) => v[f]);
      const inv = INV_FIELDS.map((f) => v[f]);
      return (x, c) => (x - mean[c]) * inv[c];
    },
  },
  gpu: {
    kind: "kernel",
    enabled: (p) => isMinmax(p),
    run: (p, batch) => minmaxBatch(batch, minmaxOptions(p), p.channels ?? batch.shape[1]),
    notes: (p, image) => notesOf(p, p.channels ?? image.shape[1]),
  },
});
