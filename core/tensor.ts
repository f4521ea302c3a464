/**
 * Images as they flow between stages.
 *
 * An image is a float32 tensor `[frames, channels, rows, cols]` (C order) with its DICOM metadata beside it
 * and a `kind` that says what its values mean, so the planner can refuse stage orders that make no sense
 * (a window over stored values that skipped the Modality LUT, say).
 *
 * @module
 */
import type { ImageMeta } from "../dicom/meta.ts";
import type { FramePrediction } from "./predictions.ts";

/**
 * What the values of a tensor mean.
 * - `stored`: stored pixel values as in the file (after BitsStored masking / sign extension).
 * - `modality`: Modality LUT applied (e.g. Hounsfield units for CT).
 * - `display`: VOI LUT applied, in the window's output range ([0, 1] by default).
 * - `features`: model input (normalised), or any derived float data.
 * - `prediction`: a model's output (`infer`) or values derived from it (`softmax`, `argmax`, ...); its shape
 *   is the model's, e.g. `[frames, classes]` or a mask `[frames, 1, rows, cols]`.
 */
export type Kind = "stored" | "modality" | "display" | "features" | "prediction";

/** Every kind, in pipeline order. */
export const KINDS: ReadonlyArray<Kind> = ["stored", "modality", "display", "features", "prediction"];

/**
 * Tensor shape. Images (every kind but `prediction`) are `[frames, channels, rows, cols]`; predictions have
 * the model output's shape with the batch axis as frames, e.g. `[frames, classes]`.
 */
export type Shape = ReadonlyArray<number>;

/** One image between stages. Stages return a new Image; they never mutate their input's data. */
export interface Image {
  readonly kind: Kind;
  readonly shape: Shape;
  readonly data: Float32Array;
  readonly meta: ImageMeta;
  /** Facts recorded by stages for `write json` and the ledger (e.g. the window applied). */
  readonly notes: Readonly<Record<string, unknown>>;
  /**
   * Readable predictions of a `prediction` tensor (set by the runtime from the stages' `summarize`; see
   * core/predictions.ts). {@link withData} drops them, as they describe the old data.
   */
  readonly predictions?: ReadonlyArray<FramePrediction>;
  /** Further named tensors (e.g. a model's other outputs); `write npy` writes them as `x.NAME.npy`. */
  readonly extras?: ReadonlyArray<
    { readonly name: string; readonly shape: Shape; readonly data: Float32Array }
  >;
}

/** What the planner knows about the tensor between two stages before any file is read (null: not known yet). */
export interface TensorSpec {
  readonly kind: Kind;
  readonly frames: number | null;
  readonly channels: number | null;
  readonly rows: number | null;
  readonly cols: number | null;
  /** For predictions: the dimensions after the frames axis (null: symbolic or unknown). */
  readonly dims?: ReadonlyArray<number | null>;
}

/** Renders a spec's shape as `[frames, channels, rows, cols]` with `?` for unknown dimensions. */
export const formatSpec = (s: TensorSpec): string => {
  const dims = s.dims ? [s.frames, ...s.dims] : [s.frames, s.channels, s.rows, s.cols];
  return `${s.kind} [${dims.map((d) => d ?? "?").join(", ")}]`;
};

/** Number of elements of a shape. */
export const shapeSize = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

/** A copy of `image` with new data/shape/kind and extra notes. */
export const withData = (
  image: Image,
  data: Float32Array,
  changes: { readonly shape?: Shape; readonly kind?: Kind; readonly notes?: Record<string, unknown> } = {},
): Image => {
  const shape = changes.shape ?? image.shape;
  if (data.length !== shapeSize(shape)) {
    throw new RangeError(
      `tensor data has ${data.length} elements, shape [${shape.join(", ")}] needs ${shapeSize(shape)}`,
    );
  }
  const { predictions: _stale, ...rest } = image;
  return {
    ...rest,
    data,
    shape,
    kind: changes.kind ?? image.kind,
    notes: changes.notes ? { ...image.notes, ...changes.notes } : image.notes,
  };
};
