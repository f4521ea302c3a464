/**
 * Dispatching the axis kernels of shaders/axis.wgsl on a batch (softmax, argmax, top-k).
 *
 * @module
 */
import * as Effect from "effect/Effect";
import {
  destroyAfterSubmit,
  dispatch,
  dispatchSize,
  type GpuBatch,
  kernelProgram,
  type ProgramInfo,
  uniformFrom,
  wgslFile,
  wgslStruct,
} from "../../plugin.ts";
import { axisView } from "./axis.ts";

const AXIS = wgslFile(import.meta.url, "../../shaders/axis.wgsl");

/** Entry points of shaders/axis.wgsl. */
export type AxisEntry = "softmax_axis" | "argmax_axis" | "topk_axis";

/** The kernels' dimensions uniform (shaders/axis.wgsl). */
const AXIS_DIMS = wgslStruct("AxisDims", {
  outer: "u32",
  axis: "u32",
  inner: "u32",
  k: "u32",
  /** Invocations. */
  total: "u32",
  /** Invocations per grid row. */
  row_pitch: "u32",
});

const program = (entry: AxisEntry): ProgramInfo =>
  kernelProgram({ shader: AXIS, entry, structs: [AXIS_DIMS] });

/**
 * Runs one axis kernel over every image of the batch. Output values per image: softmax keeps the shape,
 * argmax drops axis 1, top-k gives a [2, k] block (scores, then indices) per frame (see the shader).
 */
export const runAxis = Effect.fnUntraced(
  function* (batch: GpuBatch, entry: AxisEntry, k = 0) {
    const view = axisView(batch.shape);
    const outer = view.outer * batch.count;
    const invocations = entry === "topk_axis" ? outer : outer * view.inner;
    const size = dispatchSize(batch.gpu, invocations);
    const outValues = entry === "softmax_axis"
      ? outer * view.axis * view.inner
      : entry === "argmax_axis"
      ? outer * view.inner
      : outer * k * 2;
    const dims = yield* uniformFrom(
      batch.gpu,
      AXIS_DIMS.pack({
        outer,
        axis: view.axis,
        inner: view.inner,
        k,
        total: invocations,
        row_pitch: size.rowPitch,
      }),
      "axis dims",
    );
    const dst = yield* batch.pool.acquire(outValues * 4, entry);
    yield* dispatch(batch.gpu, program(entry), [batch.buffer, dst, dims], size, { defer: true });
    destroyAfterSubmit(batch.gpu, dims);
    batch.pool.release(batch.buffer);
    return { buffer: dst, outer };
  },
);
