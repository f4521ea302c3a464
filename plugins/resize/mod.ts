/**
 * `resize`: every frame and channel to `width` x `height`.
 *
 * `filter: bilinear` with `antialias: true` (the default) equals torchvision's
 * `resize(..., antialias=True)` on float tensors (a triangle filter widened by the downscale factor, PIL's
 * ImagingResample); `antialias: false` is plain bilinear (align_corners=False); `nearest` is PyTorch's
 * legacy nearest (floor(dst * in / out)).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { defineStage, type Image, withData } from "../../plugin.ts";
import { type ResizeFilter, resizeLookup, resizePlanes } from "./cpu.ts";
import { resizeBatch } from "./gpu.ts";

const Size = Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 16384 }));

const Params = Schema.Struct({
  width: Size.annotate({ description: "output columns" }),
  height: Size.annotate({ description: "output rows" }),
  filter: Schema.optionalKey(
    Schema.Literals(["bilinear", "nearest"]).annotate({ description: "default bilinear" }),
  ),
  antialias: Schema.optionalKey(
    Schema.Boolean.annotate({ description: "default true, as torchvision >= 0.17 (bilinear only)" }),
  ),
});

type ResizeParams = typeof Params.Type;

/** The filter and antialias flag of the params. */
const filterOf = (p: ResizeParams): { readonly filter: ResizeFilter; readonly antialias: boolean } => {
  const filter = p.filter ?? "bilinear";
  return { filter, antialias: filter === "bilinear" && (p.antialias ?? true) };
};

/** The resized image: `data` ([frames, channels, height, width]) with the stage's note. */
const resized = (image: Image, data: Float32Array, p: ResizeParams): Image => {
  const [frames, channels, rows, cols] = image.shape;
  const { filter, antialias } = filterOf(p);
  return withData(image, data, {
    shape: [frames, channels, p.height, p.width],
    notes: { resize: { from: [rows, cols], to: [p.height, p.width], filter, antialias } },
  });
};

/** The `resize` stage. */
export const resize = defineStage({
  name: "resize",
  description:
    "Resize to width x height: bilinear with antialias (= torchvision), plain bilinear, or nearest",
  params: Params,
  examples: [{ width: 224, height: 224 }, { width: 256, height: 256, filter: "nearest" }],
  accepts: ["stored", "modality", "display", "features"],
  produces: "same",
  convex: true,
  plan: (p, input) =>
    p.filter === "nearest" && p.antialias === true
      ? "antialias applies to the bilinear filter only; remove it or use filter: bilinear"
      : { ...input, rows: p.height, cols: p.width },
  run: (image, p) =>
    Effect.sync(() => {
      const [frames, channels, rows, cols] = image.shape;
      if (rows === p.height && cols === p.width) return image;
      const { filter, antialias } = filterOf(p);
      const data = resizePlanes(
        image.data,
        frames * channels,
        rows,
        cols,
        p.height,
        p.width,
        filter,
        antialias,
      );
      return resized(image, data, p);
    }),
  fromLookup: (input, p) => {
    const { filter, antialias } = filterOf(p);
    const data = resizeLookup(input, p.height, p.width, filter, antialias);
    return data && Effect.succeed(resized({ ...input.header, data }, data, p));
  },
  gpu: {
    kind: "kernel",
    recordsOnly: true,
    run: (p, batch) => {
      const filter = p.filter ?? "bilinear";
      return resizeBatch(batch, p.height, p.width, filter, filter === "bilinear" && (p.antialias ?? true));
    },
    notes: (p, image) => {
      const filter = p.filter ?? "bilinear";
      const antialias = filter === "bilinear" && (p.antialias ?? true);
      const [, , rows, cols] = image.shape;
      return rows === p.height && cols === p.width
        ? {}
        : { resize: { from: [rows, cols], to: [p.height, p.width], filter, antialias } };
    },
  },
});
