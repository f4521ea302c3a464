/**
 * Min-max scaling (`normalize` with `mode: minmax`) on the CPU: the reference the GPU kernel
 * (shaders/normalize_minmax.wgsl) is tested against.
 *
 * Values are grouped (`per`: the whole image, each frame, each channel across frames, or each plane = one
 * frame of one channel); in each group the bounds `a..b` are the minimum and maximum, or with `clip: [p, q]`
 * the p-th and q-th percentiles, defined as NumPy's default (`numpy.percentile(x.astype(float64), p)`,
 * method "linear"):
 *
 *   h = (n - 1) * (p / 100); i = floor(h), j = i + 1 (both n - 1 when h >= n - 1); t = h - i;
 *   value = t < 0.5 ? s[i] + (s[j] - s[i]) * t : s[j] - (s[j] - s[i]) * (1 - t)   (s: the sorted values)
 *
 * Each value then becomes `lo + (clamp(x, a, b) - a) * ((hi - lo) / (b - a))` (float64, rounded to float32
 * once); a group with `b == a` (a constant image) gives `lo` everywhere, never NaN.
 *
 * @module
 */
import { type Shape, tensorBuffer } from "../../plugin.ts";

/** Which values share one min/max: the image, a frame, a channel (across frames), or a plane. */
export type MinmaxPer = "image" | "frame" | "channel" | "plane";

/** Min-max settings (decided from the stage's params). */
export interface MinmaxOptions {
  readonly per: MinmaxPer;
  /** Output range [lo, hi]. */
  readonly range: readonly [number, number];
  /** Percentiles [p_lo, p_hi] in 0..100 used as the bounds instead of the minimum and maximum. */
  readonly clip?: readonly [number, number];
}

/**
 * How the values of one image `[frames, channels, rows, cols]` split into groups, shared by the CPU and the
 * GPU kernel. Group `g` (numbered over a batch: image `b` has groups `b * perImage ..`) holds, for
 * `j < length`, the value at `(g / div) * stride + (g % div) * offset + (j / inner) * outer + j % inner`.
 * The value at (image b, frame f, channel c) belongs to group `b * perImage + f * frameStep + c * channelStep`.
 */
export interface GroupLayout {
  readonly perImage: number;
  readonly length: number;
  readonly div: number;
  readonly stride: number;
  readonly offset: number;
  readonly inner: number;
  readonly outer: number;
  readonly frameStep: number;
  readonly channelStep: number;
}

/** The group layout of `per` for images of `shape`. */
export const groupLayout = (per: MinmaxPer, shape: Shape): GroupLayout => {
  const [frames, channels, rows, cols] = shape;
  const plane = rows * cols;
  const contiguous = (perImage: number, frameStep: number, channelStep: number): GroupLayout => {
    const length = (frames * channels * plane) / perImage;
    return {
      perImage,
      length,
      div: 1,
      stride: length,
      offset: 0,
      inner: length,
      outer: 0,
      frameStep,
      channelStep,
    };
  };
  switch (per) {
    case "image":
      return contiguous(1, 0, 0);
    case "frame":
      return contiguous(frames, 1, 0);
    case "plane":
      return contiguous(frames * channels, channels, 1);
    case "channel":
      return {
        perImage: channels,
        length: frames * plane,
        div: channels,
        stride: frames * channels * plane,
        offset: plane,
        inner: plane,
        outer: channels * plane,
        frameStep: 0,
        channelStep: 1,
      };
  }
};

/** Index of value `j` of group `g` (see {@link GroupLayout}). */
export const groupIndex = (l: GroupLayout, g: number, j: number): number =>
  Math.floor(g / l.div) * l.stride + (g % l.div) * l.offset + Math.floor(j / l.inner) * l.outer +
  (j % l.inner);

/** The two sorted positions and the weight NumPy's "linear" percentile `p` uses for `n` values. */
export const percentileRanks = (
  n: number,
  p: number,
): { readonly i: number; readonly j: number; readonly t: number } => {
  const h = (n - 1) * (p / 100);
  if (h >= n - 1) return { i: n - 1, j: n - 1, t: 0 };
  const i = Math.floor(h);
  return { i, j: i + 1, t: h - i };
};

/** NumPy's `_lerp`: exact at both ends, computed from the nearer end. */
export const lerp = (a: number, b: number, t: number): number => {
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
};

/** The p-th percentile of ascending `sorted` values (NumPy's default, see the module comment). */
export const percentileSorted = (sorted: ArrayLike<number>, p: number): number => {
  const { i, j, t } = percentileRanks(sorted.length, p);
  return lerp(sorted[i], sorted[j], t);
};

/** The values of one group, sorted for its percentiles (`clip`): one array per thread, grown as needed. */
let sortScratch = new Float32Array(0);

const sortBuffer = (length: number): Float32Array => {
  if (sortScratch.length < length) sortScratch = new Float32Array(length);
  return sortScratch.subarray(0, length);
};

/** Bounds [a, b] of every group of one image (`count * 2` values: a0, b0, a1, b1, ...). */
export const groupBounds = (
  src: Float32Array,
  layout: GroupLayout,
  clip: readonly [number, number] | undefined,
): Float64Array => {
  const bounds = new Float64Array(layout.perImage * 2);
  const values = clip ? sortBuffer(layout.length) : undefined;
  const blocks = layout.length / layout.inner;
  for (let g = 0; g < layout.perImage; g++) {
    let min = Infinity;
    let max = -Infinity;
    const first = groupIndex(layout, g, 0);
    for (let k = 0, j = 0; k < blocks; k++) {
      const base = first + k * layout.outer;
      for (let i = 0; i < layout.inner; i++, j++) {
        const v = src[base + i];
        if (values) values[j] = v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
    }
    if (values) {
      values.sort();
      min = percentileSorted(values, clip![0]);
      max = percentileSorted(values, clip![1]);
    }
    bounds[2 * g] = min;
    bounds[2 * g + 1] = max;
  }
  return bounds;
};

/** Scales one value into [lo, hi] given its group's bounds [a, b] (lo when b <= a). */
export const scaleValue = (x: number, a: number, b: number, lo: number, hi: number): number =>
  b > a ? lo + (Math.min(Math.max(x, a), b) - a) * ((hi - lo) / (b - a)) : lo;

/**
 * Min-max scales one image `[frames, channels, rows, cols]`; with `outChannels` 3 and one input channel, the
 * scaled gray channel is replicated (as `channels: 3` does for mean/std). The result comes from the tensor
 * pool (`tensorBuffer`: the runtime recycles it once the input is finished, so memory stays flat).
 */
export const minmaxCpu = (
  src: Float32Array,
  shape: Shape,
  options: MinmaxOptions,
  outChannels: number = shape[1],
): Float32Array => {
  const [frames, channels, rows, cols] = shape;
  const plane = rows * cols;
  const layout = groupLayout(options.per, shape);
  const bounds = groupBounds(src, layout, options.clip);
  const [lo, hi] = options.range;
  const out = tensorBuffer(frames * outChannels * plane);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < outChannels; c++) {
      const cIn = channels === 1 ? 0 : c;
      const g = f * layout.frameStep + cIn * layout.channelStep;
      const a = bounds[2 * g];
      const b = bounds[2 * g + 1];
      const s = (f * channels + cIn) * plane;
      const d = (f * outChannels + c) * plane;
      for (let i = 0; i < plane; i++) out[d + i] = scaleValue(src[s + i], a, b, lo, hi);
    }
  }
  return out;
};
