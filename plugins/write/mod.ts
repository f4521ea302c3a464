/**
 * `write`: the image tensor to a file per input, next to its input's relative path under the output folder.
 *
 * - `npy`: the tensor as NumPy v1.0 `<f4`, C order, shape `[frames, channels, rows, cols]`.
 * - `png`: an 8-bit preview per frame (`x.png`, or `x.f001.png`, ... for multi-frame images); display
 *   values map their window range to 0..255, other kinds each frame's min..max.
 * - `json`: header facts, what each stage did, tensor statistics, and readable predictions after `infer`.
 * - `nifti`: a gzipped NIfTI-1 file `x.nii.gz` with the volume's geometry (see nifti.ts).
 *
 * Files are staged and only appear once the whole input has succeeded.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { defineStage, type Image, npyChunks, Output } from "../../plugin.ts";
import { encodeNiftiGz } from "./nifti.ts";
import { previewPng, type PreviewScale } from "./png.ts";

const Params = Schema.Struct({
  format: Schema.Literals(["npy", "png", "json", "nifti"]).annotate({
    description: "npy | png | json | nifti",
  }),
});

/** Summary statistics of a tensor. */
export const tensorStats = (data: Float32Array) => {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return { min, max, mean: data.length > 0 ? sum / data.length : 0 };
};

/** The JSON document `write json` produces for one image. */
export const metadataJson = (image: Image, input: string) => {
  const { dataset: _dataset, modalityLut, voiLuts, ...meta } = image.meta;
  const predictions = image.predictions;
  const { labels: _labels, ...notes } = image.notes;
  return {
    input,
    kind: image.kind,
    shape: image.shape,
    dtype: "float32",
    stats: tensorStats(image.data),
    ...(predictions ? { predictions } : {}),
    stages: notes,
    dicom: {
      ...meta,
      ...(modalityLut
        ? { modalityLut: { entries: modalityLut.entries, firstMapped: modalityLut.firstMapped } }
        : {}),
      ...(voiLuts
        ? { voiLuts: voiLuts.map((l) => ({ entries: l.entries, explanation: l.explanation })) }
        : {}),
    },
  };
};

const previewScale = (image: Image): PreviewScale => {
  if (image.kind !== "display") return "minmax";
  const range = (image.notes.window as { range?: { ymin: number; ymax: number } } | undefined)?.range;
  return { min: range?.ymin ?? 0, max: range?.ymax ?? 1 };
};

/** The `write` stage. */
export const write = defineStage({
  name: "write",
  description:
    "Write the tensor: npy (<f4, [frames, channels, rows, cols]), png preview, json metadata or nifti",
  params: Params,
  examples: [{ format: "npy" }, { format: "png" }, { format: "json" }, { format: "nifti" }],
  accepts: ["stored", "modality", "display", "features", "prediction"],
  plan: (p, spec) =>
    (p.format === "png" || p.format === "nifti") && spec.kind === "prediction" && spec.dims &&
      spec.dims.length !== 3
      ? `${
        p.format === "png" ? "png previews" : "nifti"
      } need images or masks [frames, channels, rows, cols]; write this prediction as npy or json`
      : spec,
  produces: "same",
  writes: (p) => [p.format === "nifti" ? "nii.gz" : p.format],
  run: (image, p) =>
    Effect.gen(function* () {
      const out = yield* Output;
      switch (p.format) {
        case "npy":
          yield* out.write("npy", npyChunks(image.data, image.shape));
          for (const extra of image.extras ?? []) {
            yield* out.write(
              "npy",
              npyChunks(extra.data, extra.shape),
              `.${extra.name.replace(/[^A-Za-z0-9_-]/g, "_")}`,
            );
          }
          break;
        case "png": {
          const frames = image.shape[0];
          const scale = previewScale(image);
          const digits = Math.max(3, String(frames).length);
          for (let f = 0; f < frames; f++) {
            const suffix = frames === 1 ? "" : `.f${String(f + 1).padStart(digits, "0")}`;
            yield* out.write("png", previewPng(image.data, image.shape, f, scale), suffix);
          }
          break;
        }
        case "nifti":
          yield* out.write("nii.gz", yield* Effect.promise(() => encodeNiftiGz(image)));
          break;
        case "json":
          yield* out.write(
            "json",
            new TextEncoder().encode(JSON.stringify(metadataJson(image, out.input), null, 2) + "\n"),
          );
          break;
      }
      return image;
    }),
});
