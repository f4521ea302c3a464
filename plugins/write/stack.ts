/**
 * `write` with `format: npy, stack: true`: every frame of every input in ONE `<name>.npy` (`[N, ...]`
 * float32, N = all frames, in input order) plus `<name>.index.csv` saying where each row came from.
 *
 * The rows are streamed to the file as inputs succeed (memory stays flat): the npy header is written with
 * N = 0 when the first row arrives and rewritten with the final N at the end (NumPy's header leaves room for
 * the count to grow, so its length never changes). The files have temporary names until the run finishes,
 * so a killed run never leaves a `<name>.npy` that reads as complete.
 *
 * Every row must have the shape of the first (after the frame axis): an input whose tensor differs is
 * refused with STACK_SHAPE_MISMATCH and adds no row.
 *
 * @module
 */
import {
  type CodedError,
  type CollectedInput,
  type Collection,
  type CollectionSummary,
  type CollectionWriter,
  float32Bytes,
  npyHeader,
  type RunFile,
  type Shape,
  StageError,
} from "../../plugin.ts";

/** One input's contribution: its tensor (frames first) and the identifiers the index records. */
export interface StackRow {
  readonly data: Float32Array;
  readonly shape: Shape;
  readonly sopInstanceUid: string;
  readonly seriesInstanceUid: string;
}

/** Columns of `<name>.index.csv`: one line per row of the stacked array. */
export const INDEX_COLUMNS = ["row", "input", "frame", "sop_instance_uid", "series_instance_uid"] as const;

const encoder = new TextEncoder();

/** A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
export const csvField = (value: string | number): string => {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
};

const formatShape = (shape: ReadonlyArray<number>) => `[${shape.join(", ")}]`;

/** The stacking writer of one run: its state is the row shape, the first input and the rows so far. */
export class StackWriter implements CollectionWriter<StackRow> {
  #rowShape: ReadonlyArray<number> | undefined;
  #firstInput = "";
  #rows = 0;
  #headerLength = 0;

  constructor(private readonly npy: RunFile, private readonly index: RunFile) {}

  /** Refuses rows whose shape after the frame axis differs from the stack's (set by its first input). */
  check(rows: ReadonlyArray<StackRow>, input: CollectedInput): CodedError | undefined {
    const expected = this.#rowShape ?? rows[0]?.shape.slice(1);
    for (const row of rows) {
      const shape = row.shape.slice(1);
      if (
        row.shape.length < 1 || shape.length !== expected?.length || shape.some((d, i) => d !== expected[i])
      ) {
        const from = this.#rowShape ? ` (set by ${this.#firstInput})` : "";
        return new StageError({
          code: "STACK_SHAPE_MISMATCH",
          message: `${input.path}: its tensor ${formatShape(row.shape)} does not fit the stacked rows ` +
            `[N, ${expected?.join(", ")}]${from}; add a resize (e.g. with: { width: 224, height: 224 }) so ` +
            "every input has one shape",
        });
      }
    }
    return undefined;
  }

  /** Appends the frames of one input's rows and their index lines. */
  append(rows: ReadonlyArray<StackRow>, input: CollectedInput): { first: number; count: number } {
    if (this.#rowShape === undefined && rows.length > 0) {
      this.#rowShape = rows[0].shape.slice(1);
      this.#firstInput = input.path;
      // N = 0 until the end: a file cut short by a crash never reads as a complete stack.
      const header = npyHeader([0, ...this.#rowShape]);
      this.#headerLength = header.length;
      this.npy.write(header);
    }
    const first = this.#rows;
    const lines: string[] = [];
    for (const row of rows) {
      this.npy.write(float32Bytes(row.data));
      for (let f = 0; f < row.shape[0]; f++) {
        const fields = [this.#rows++, input.path, f, row.sopInstanceUid, row.seriesInstanceUid];
        lines.push(fields.map(csvField).join(","));
      }
    }
    if (lines.length > 0) this.index.write(encoder.encode(lines.join("\n") + "\n"));
    return { first, count: this.#rows - first };
  }

  /** Rewrites the npy header with the final row count (or writes an empty `(0,)` array: no rows at all). */
  finish(): CollectionSummary {
    const shape = [this.#rows, ...(this.#rowShape ?? [])];
    const header = npyHeader(shape);
    if (this.#rowShape !== undefined && header.length !== this.#headerLength) {
      throw new Error(`the npy header grew from ${this.#headerLength} to ${header.length} bytes`);
    }
    this.npy.write(header, 0);
    return { rows: this.#rows, shape, dtype: "float32" };
  }
}

/** The run-level output `<name>.npy` + `<name>.index.csv`. */
export const stackCollection = (name: string): Collection<StackRow> => ({
  name,
  files: ["npy", "index.csv"],
  open: ([npy, index]) => {
    index.write(encoder.encode(INDEX_COLUMNS.join(",") + "\n"));
    return new StackWriter(npy, index);
  },
});
