/**
 * `normalize` with `mode: minmax` on the GPU: shaders/normalize_minmax.wgsl on a batch, one reduction pass
 * (bounds per group) and one apply pass. Min-max depends on the values, so it cannot be the stage's fused
 * elementwise form (whose per-image values come from the header): it is the stage's kernel form.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  dispatch,
  dispatchSize,
  type GpuBatch,
  kernelProgram,
  type ProgramInfo,
  type Shape,
  uniformFrom,
  wgslFile,
  wgslStruct,
  WORKGROUP_SIZE,
} from "../../plugin.ts";
import { groupLayout, type MinmaxOptions, percentileRanks } from "./minmax.ts";

const SHADER = wgslFile(import.meta.url, "../../shaders/normalize_minmax.wgsl");

/**
 * Fields of the `MinmaxDims` uniform, in order (all u32; `lo`, `hi`, `gamma_lo`, `gamma_hi` hold f32 bits).
 * The WGSL struct is generated from this list.
 */
export const MINMAX_DIMS = [
  // reduction: groups, their layout (GroupLayout), 2D workgroup pitch, percentile ranks and weights
  "groups",
  "group_len",
  "div",
  "stride",
  "offset",
  "inner",
  "outer",
  "wg_pitch",
  "rank0",
  "rank1",
  "rank2",
  "rank3",
  "gamma_lo",
  "gamma_hi",
  // apply: output indexing, the group of each value, the output range
  "total",
  "image_len",
  "src_len",
  "plane",
  "c_in",
  "c_out",
  "per_image",
  "frame_step",
  "channel_step",
  "row_pitch",
  "lo",
  "hi",
] as const;

type DimsField = typeof MINMAX_DIMS[number];

/** The `MinmaxDims` uniform, generated from {@link MINMAX_DIMS} (all u32). */
const DIMS = wgslStruct(
  "MinmaxDims",
  Object.fromEntries(MINMAX_DIMS.map((f) => [f, "u32"])) as Record<DimsField, "u32">,
);

const f32Bits = (v: number): number => new Uint32Array(new Float32Array([v]).buffer)[0];

type Entry = "minmax_range" | "minmax_clip" | "minmax_apply";

const program = (entry: Entry): ProgramInfo => kernelProgram({ shader: SHADER, entry, structs: [DIMS] });

/** The uniform's values for a batch of `count` images of `shape` scaled to `outChannels` channels. */
export const minmaxDims = (
  shape: Shape,
  count: number,
  options: MinmaxOptions,
  outChannels: number,
  pitches: { readonly wgPitch: number; readonly rowPitch: number },
): Record<DimsField, number> => {
  const [frames, channels, rows, cols] = shape;
  const plane = rows * cols;
  const l = groupLayout(options.per, shape);
  const [pLo, pHi] = options.clip ?? [0, 100];
  const low = percentileRanks(l.length, pLo);
  const high = percentileRanks(l.length, pHi);
  const imageLen = frames * outChannels * plane;
  return {
    groups: l.perImage * count,
    group_len: l.length,
    div: l.div,
    stride: l.stride,
    offset: l.offset,
    inner: l.inner,
    outer: l.outer,
    wg_pitch: pitches.wgPitch,
    rank0: low.i,
    rank1: low.j,
    rank2: high.i,
    rank3: high.j,
    gamma_lo: f32Bits(low.t),
    gamma_hi: f32Bits(high.t),
    total: imageLen * count,
    image_len: imageLen,
    src_len: frames * channels * plane,
    plane,
    c_in: channels,
    c_out: outChannels,
    per_image: l.perImage,
    frame_step: l.frameStep,
    channel_step: l.channelStep,
    row_pitch: pitches.rowPitch,
    lo: f32Bits(options.range[0]),
    hi: f32Bits(options.range[1]),
  };
};

/** Min-max scales every image of the batch; the input buffer goes back to the pool. */
export const minmaxBatch = Effect.fnUntraced(
  function* (batch: GpuBatch, options: MinmaxOptions, outChannels: number) {
    const { gpu, pool, shape, count } = batch;
    const groups = groupLayout(options.per, shape).perImage * count;
    const reduceSize = dispatchSize(gpu, groups * WORKGROUP_SIZE);
    const outShape: Shape = [shape[0], outChannels, shape[2], shape[3]];
    const total = outShape.reduce((a, b) => a * b, 1) * count;
    const applySize = dispatchSize(gpu, total);
    const dims = yield* uniformFrom(
      gpu,
      DIMS.pack(minmaxDims(shape, count, options, outChannels, {
        wgPitch: reduceSize.x,
        rowPitch: applySize.rowPitch,
      })),
      "normalize minmax dims",
    );
    const stats = yield* pool.acquire(groups * 8, "normalize minmax bounds");
    const dst = yield* pool.acquire(total * 4, "normalize minmax");
    const reduce = program(options.clip ? "minmax_clip" : "minmax_range");
    yield* dispatch(gpu, reduce, [batch.buffer, stats, dims], reduceSize);
    yield* dispatch(gpu, program("minmax_apply"), [batch.buffer, stats, dims, dst], applySize);
    dims.destroy();
    pool.release(stats);
    pool.release(batch.buffer);
    return { ...batch, buffer: dst, shape: outShape };
  },
);
