/**
 * `resample`: a volume `[slices, channels, rows, cols]` to a target voxel spacing in mm or a target shape.
 *
 * Defined by PyTorch: the output size is `round(n * s / s')` per axis (`s` the volume's spacing, `s'` the
 * target; `keep` leaves an axis alone), and the values are those of
 * `torch.nn.functional.interpolate(x[None], size, mode="trilinear", align_corners=False)` (`mode: linear`)
 * or `mode="nearest-exact"` (`mode: nearest`, for label maps) at that size. The volume's affine, spacing,
 * PixelSpacing and first position are updated (see geometry.ts: the extent is kept, the origin moves by half
 * the spacing difference along each axis).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { defineStage, type GpuBatch, type Image, StageError, withData } from "../../plugin.ts";
import { resampleVolume } from "./cpu.ts";
import { resampledMeta, type Size3 } from "./geometry.ts";
import { resampleBatch } from "./gpu.ts";
import { outputSize, type SizeParams, targetSpacing } from "./size.ts";

const Keep = Schema.Literal("keep");
const Mm = Schema.Finite.check(Schema.isGreaterThan(0));
const SpacingAxis = Schema.Union([Mm, Keep]);
const SizeAxis = Schema.Union([Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 8192 })), Keep]);

const Params = Schema.Struct({
  spacing: Schema.optionalKey(
    Schema.Union([Mm, Schema.Tuple([SpacingAxis, SpacingAxis, SpacingAxis])]).annotate({
      description: "target voxel spacing in mm, [z, y, x] (slices, rows, columns) or one number; keep: as is",
    }),
  ),
  shape: Schema.optionalKey(
    Schema.Tuple([SizeAxis, SizeAxis, SizeAxis]).annotate({
      description: "target size [slices, rows, columns]; keep: as is",
    }),
  ),
  mode: Schema.optionalKey(
    Schema.Literals(["linear", "nearest"]).annotate({
      description: "default linear; nearest for label maps",
    }),
  ),
});

/** Parameters of the `resample` stage. */
export type ResampleParams = typeof Params.Type;

const sizes = (image: Omit<Image, "data">): Size3 => [image.shape[0], image.shape[2], image.shape[3]];

/** The output size of one image, or the per-input error that says why there is none. */
const sizeOf = (p: ResampleParams, image: Omit<Image, "data">): Size3 | StageError => {
  const size = outputSize(p as SizeParams, sizes(image), image.meta);
  return typeof size === "string" ? new StageError({ code: "RESAMPLE_NO_SPACING", message: size }) : size;
};

/** What `resample` records. */
const resampleNotes = (p: ResampleParams, image: Omit<Image, "data">, to: Size3) => {
  const from = sizes(image);
  const meta = resampledMeta(image.meta, from, to);
  const s = meta.volume?.spacing;
  return {
    resample: {
      from,
      to,
      mode: p.mode ?? "linear",
      ...(s ? { spacing: [s[2], s[0], s[1]] } : {}),
      ...(p.spacing !== undefined ? { requested: targetSpacing(p as SizeParams) } : {}),
    },
  };
};

/** The `resample` stage. */
export const resample = defineStage({
  name: "resample",
  description:
    "Resample a volume to a spacing in mm or a shape: trilinear or nearest (= PyTorch interpolate)",
  params: Params,
  examples: [{ spacing: [1, 1, 1] }, { spacing: ["keep", 0.8, 0.8] }, {
    shape: [64, 128, 128],
    mode: "nearest",
  }],
  accepts: ["stored", "modality", "display", "features", "prediction"],
  produces: "same",
  convex: true,
  plan: (p, input) => {
    if ((p.spacing === undefined) === (p.shape === undefined)) {
      return "give either `spacing:` (mm, [z, y, x]) or `shape:` ([slices, rows, columns]), not both or neither";
    }
    if (input.dims) {
      return "resample takes volumes [slices, channels, rows, cols], not this prediction layout";
    }
    if (p.shape) {
      const [z, y, x] = p.shape;
      return {
        ...input,
        frames: z === "keep" ? input.frames : z,
        rows: y === "keep" ? input.rows : y,
        cols: x === "keep" ? input.cols : x,
      };
    }
    const t = targetSpacing(p as SizeParams)!;
    return {
      ...input,
      frames: t[0] === "keep" ? input.frames : null,
      rows: t[1] === "keep" ? input.rows : null,
      cols: t[2] === "keep" ? input.cols : null,
    };
  },
  run: Effect.fnUntraced(function* (image: Image, p: ResampleParams) {
    const to = sizeOf(p, image);
    if (to instanceof StageError) return yield* to;
    const from = sizes(image);
    const data = resampleVolume(image.data, image.shape, to, p.mode ?? "linear");
    const next = withData(image, data, {
      shape: [to[0], image.shape[1], to[1], to[2]],
      notes: resampleNotes(p, image, to),
    });
    return { ...next, meta: resampledMeta(image.meta, from, to) };
  }),
  gpu: {
    kind: "kernel",
    run: Effect.fnUntraced(function* (p: ResampleParams, batch: GpuBatch) {
      // Every image of a batch has the same shape; a target spacing may still give each its own size.
      const all = (batch.images ?? []).map((image) => sizeOf(p, image));
      const failed = all.find((s) => s instanceof StageError);
      if (failed) return yield* failed;
      const sizes = all as Size3[];
      if (sizes.length === 0 || sizes.some((s) => s.join() !== sizes[0].join())) {
        return yield* new StageError({
          code: "RESAMPLE_MIXED_BATCH",
          message: "the volumes of this GPU batch resample to different sizes; they run on the CPU",
        });
      }
      return yield* resampleBatch(batch, sizes[0], p.mode ?? "linear");
    }),
    notes: (p, image) => {
      const to = sizeOf(p, image);
      return to instanceof StageError ? {} : resampleNotes(p, image, to);
    },
    meta: (p, image) => {
      const to = sizeOf(p, image);
      return to instanceof StageError ? image.meta : resampledMeta(image.meta, sizes(image), to);
    },
  },
});
