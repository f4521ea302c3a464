/**
 * The `Output` service: where a stage writes files for the input being processed.
 *
 * The runtime provides one `Output` per input. Writes go to temporary files next to their destination and
 * are renamed into place only when every stage of that input has succeeded, so a failed input never leaves
 * a partial (or any) output behind. Rows for run-level outputs (`append`, see core/collect.ts) follow the
 * same rule.
 *
 * @module
 */
import * as Context from "effect/Context";
import type * as Effect from "effect/Effect";
import type { OutputWriteError } from "./errors.ts";

/** Per-input output sink. */
export interface OutputShape {
  /** The input's path as given/walked (for messages and metadata). */
  readonly input: string;
  /**
   * Stages `bytes` (one array, or chunks written one after the other) as the output with extension `ext`
   * (without dot), e.g. "npy" -> `DIR/a/b/x.npy`.
   * `suffix` is inserted before the extension, e.g. ".f002" for per-frame previews.
   * Returns the final path it will have once the input succeeds.
   */
  readonly write: (
    ext: string,
    bytes: Uint8Array | ReadonlyArray<Uint8Array>,
    suffix?: string,
  ) => Effect.Effect<string, OutputWriteError>;
  /**
   * Stages `row` for the run-level output `collection` (one a stage declared with `collects`, e.g. a stacked
   * .npy): rows are appended in input order once this input has succeeded, and dropped if it fails. A row
   * must be plain data (it may travel from a worker thread) that stays valid after the input is finished:
   * copy tensors the runtime recycles (core/cpu/tensor_pool.ts). The row is handed over: the memory of its
   * typed-array fields moves to the thread that writes it and is released once written (core/collect.ts,
   * `rowBuffers`), so append a copy made for the row, never an array the stage keeps.
   */
  readonly append: (collection: string, row: unknown) => Effect.Effect<void, OutputWriteError>;
}

/** Service key for the per-input output sink. */
export class Output extends Context.Service<Output, OutputShape>()("dcmflow/Output") {}
