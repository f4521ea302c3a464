/**
 * `write`: the image tensor to a file per input, next to its input's relative path under the output folder.
 *
 * - `npy`: the tensor as NumPy v1.0 `<f4`, C order, shape `[frames, channels, rows, cols]`; with
 *   `stack: true`, every frame of every input in one `<name>.npy` `[N, channels, rows, cols]` plus
 *   `<name>.index.csv` (stack.ts), `name` defaulting to the pipeline's name.
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
import { stackCollection } from "./stack.ts";

const Params = Schema.Struct({
  format: Schema.Literals(["npy", "png", "json", "nifti"]).annotate({
    description: "npy | png | json | nifti",
  }),
  stack: Schema.optionalKey(Schema.Boolean.annotate({
    description: "npy: every frame of every input in one NAME.npy [N, C, H, W] + NAME.index.csv",
  })),
  name: Schema.optionalKey(Schema.String.annotate({
    description: "stack: the file name without extension (default: the pipeline's name)",
  })),
});

/** Parameters of the `write` stage. */
export type WriteParams = typeof Params.Type;

/** A file name stem made of the pipeline's name (letters, digits, `.`, `_`, `-`). */
export const stackName = (pipelineName: string): string =>
  pipelineName.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._]+/, "") || "stack";

const STACK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** What is wrong with a combination of parameters, if anything. */
const checkParams = (p: WriteParams): string | undefined => {
  if (p.stack && p.format !== "npy") {
    return `stack: true stacks tensors into one .npy; use it with format: npy, not ${p.format}`;
  }
  if (p.name !== undefined && !p.stack) return "name: names the stacked file; add stack: true (format: npy)";
  if (p.name !== undefined && !STACK_NAME.test(p.name)) {
    return `name: "${p.name}" must be a file name (letters, digits, ".", "_", "-"; no folders)`;
  }
  if (p.name?.startsWith("dcmflow-run")) {
    return `name: "${p.name}" would land on the run's own files; rename it`;
  }
  return undefined;
};

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

/**
 * The meta's own fields but `dataset`, in order, without reading `dataset` (which names the whole data set
 * where it was not named yet: dicom/lazy_dataset.ts).
 */
const withoutDataset = (meta: Image["meta"]): Omit<Image["meta"], "dataset"> =>
  Object.fromEntries(
    Object.keys(meta).filter((k) => k !== "dataset").map((k) => [k, meta[k as keyof typeof meta]]),
  ) as Omit<Image["meta"], "dataset">;

/** The JSON document `write json` produces for one image. */
export const metadataJson = (image: Image, input: string) => {
  const { modalityLut, voiLuts, ...meta } = withoutDataset(image.meta);
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
    "Write the tensor: npy (<f4, [frames, channels, rows, cols]; stack: true -> one [N, ...] file for the run), " +
    "png preview, json metadata or nifti",
  params: Params,
  examples: [{ format: "npy" }, { format: "npy", stack: true, name: "train" }, { format: "png" }, {
    format: "json",
  }, { format: "nifti" }],
  accepts: ["stored", "modality", "display", "features", "prediction"],
  setup: (p, { pipelineName }) =>
    Effect.succeed(p.stack && p.name === undefined ? { ...p, name: stackName(pipelineName) } : p),
  plan: (p, spec) =>
    checkParams(p) ??
      ((p.format === "png" || p.format === "nifti") && spec.kind === "prediction" && spec.dims &&
          spec.dims.length !== 3
        ? `${
          p.format === "png" ? "png previews" : "nifti"
        } need images or masks [frames, channels, rows, cols]; write this prediction as npy or json`
        : spec),
  produces: "same",
  writes: (p) => (p.stack ? [] : [p.format === "nifti" ? "nii.gz" : p.format]),
  collects: (p) => (p.stack && p.name !== undefined ? [stackCollection(p.name)] : []),
  // The body is made once (Effect.fnUntraced), not per image: see "Writing a plugin" in the README.
  run: Effect.fnUntraced(function* (image: Image, p: WriteParams) {
    const out = yield* Output;
    switch (p.format) {
      case "npy":
        if (p.stack) {
          // A copy: the runtime recycles image arrays once the input is finished (core/cpu/tensor_pool.ts),
          // and the row is written later, in input order.
          yield* out.append(p.name!, {
            data: image.data.slice(),
            shape: image.shape,
            sopInstanceUid: image.meta.sopInstanceUid ?? "",
            seriesInstanceUid: image.meta.seriesInstanceUid ?? "",
          });
          break;
        }
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
          const png = yield* Effect.promise(() => previewPng(image.data, image.shape, f, scale));
          yield* out.write("png", png, suffix);
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
