/**
 * 8-bit PNG previews of tensors (grayscale or RGB), encoded with `fast-png`.
 *
 * @module
 */

type Encode = typeof import("fast-png").encode;
let encoder: Promise<Encode> | undefined;

/**
 * `fast-png`, loaded with the first preview: its deflate (`fflate`) builds its code tables when its module
 * loads, 5-8 ms of every start of every thread, which a run writing no PNG need not pay.
 */
const loadEncoder = (): Promise<Encode> => (encoder ??= import("fast-png").then((m) => m.encode));

/** How float values map to 0..255: a fixed range, or each frame's own min..max. */
export type PreviewScale = { readonly min: number; readonly max: number } | "minmax";

/**
 * Encodes frame `frame` of a `[frames, channels, rows, cols]` tensor as an 8-bit PNG: 1 channel -> gray,
 * 3 -> RGB; other channel counts show the first channel.
 */
export const previewPng = async (
  data: Float32Array,
  shape: ReadonlyArray<number>,
  frame: number,
  scale: PreviewScale,
): Promise<Uint8Array> => {
  const [, channels, rows, cols] = shape;
  const plane = rows * cols;
  const outChannels = channels === 3 ? 3 : 1;
  const base = frame * channels * plane;
  let lo: number;
  let hi: number;
  if (scale === "minmax") {
    lo = Infinity;
    hi = -Infinity;
    for (let i = base; i < base + outChannels * plane; i++) {
      const v = data[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  } else {
    ({ min: lo, max: hi } = scale);
  }
  const k = hi > lo ? 255 / (hi - lo) : 0;
  const pixels = new Uint8Array(plane * outChannels);
  for (let c = 0; c < outChannels; c++) {
    const src = base + c * plane;
    for (let i = 0; i < plane; i++) {
      const v = (data[src + i] - lo) * k;
      pixels[i * outChannels + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  const encode = await loadEncoder();
  return encode({ width: cols, height: rows, data: pixels, channels: outChannels, depth: 8 });
};
