/**
 * Typed errors of dcmflow.
 *
 * Two families, as in the run contract:
 * - {@link PipelineError}: the pipeline file or the command line is invalid. Nothing runs; exit status 2.
 *   Carries the file/line/column of the offending YAML node when there is one.
 * - Per-input failures: anything with a stable `code` and a `message` ({@link CodedError}). One input fails,
 *   the others go on; the code and message land in the run ledger. Stage authors raise {@link StageError}
 *   or their own tagged errors with a `code` field.
 *
 * @module
 */
import * as Data from "effect/Data";

/** A position in a pipeline file (1-based line and column). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Renders `file:line:column`, or just the file when no position is known. */
export const formatLocation = (loc: SourceLocation | undefined): string =>
  loc === undefined ? "" : loc.line > 0 ? `${loc.file}:${loc.line}:${loc.column}` : loc.file;

/** Stable codes for pipeline (exit 2) errors. */
export type PipelineErrorCode =
  | "PIPELINE_NOT_FOUND"
  | "YAML_SYNTAX"
  | "PIPELINE_FORMAT"
  | "UNKNOWN_STAGE"
  | "INVALID_PARAMS"
  | "PLAN_MISMATCH"
  | "PLUGIN_LOAD"
  | "INVALID_OVERRIDE"
  | "INVALID_ARGUMENTS"
  | "DEVICE_UNAVAILABLE"
  | "WGSL_COMPILE"
  | "STAGE_SETUP"
  | "OUTPUT_LOCKED"
  | "RESUME_MISMATCH";

/** The pipeline or command line is invalid: reported before any input is read (exit status 2). */
export class PipelineError extends Data.TaggedError("PipelineError")<{
  /** A {@link PipelineErrorCode}, or a stage's own code for failures of its `setup` (e.g. MODEL_NOT_FOUND). */
  // deno-lint-ignore ban-types -- `string & {}` keeps the known codes in editor completions
  readonly code: PipelineErrorCode | (string & {});
  readonly message: string;
  readonly location?: SourceLocation;
  /** Further problems found in the same pass (all of them are reported at once). */
  readonly more?: ReadonlyArray<{ readonly message: string; readonly location?: SourceLocation }>;
}> {
  /** Every problem, one per line, each prefixed with its location. */
  render(): string {
    const line = (m: string, l?: SourceLocation) => (l ? `${formatLocation(l)}: ${m}` : m);
    return [line(this.message, this.location), ...(this.more ?? []).map((p) => line(p.message, p.location))]
      .join("\n");
  }
}

/** What every per-input failure provides: a stable machine-readable code and a human message. */
export interface CodedError {
  readonly code: string;
  readonly message: string;
}

/** A generic per-input failure for stage authors: `new StageError({ code: "MY_CODE", message: "..." })`. */
export class StageError extends Data.TaggedError("StageError")<{
  readonly code: string;
  readonly message: string;
}> {}

/** Reading an input failed (permissions, vanished file, not a regular file). */
export class InputReadError extends Data.TaggedError("InputReadError")<{
  readonly code: "READ_ERROR";
  readonly message: string;
}> {}

/** Writing an output failed (disk full, permissions). */
export class OutputWriteError extends Data.TaggedError("OutputWriteError")<{
  readonly code: "WRITE_ERROR";
  readonly message: string;
}> {}

/** Turns any failure value or defect into a ledger-ready {@link CodedError}. */
export const toCodedError = (e: unknown, fallbackCode = "STAGE_FAILED"): CodedError => {
  if (typeof e === "object" && e !== null) {
    const r = e as { code?: unknown; message?: unknown };
    const message = typeof r.message === "string" && r.message !== "" ? r.message : String(e);
    if (typeof r.code === "string") return { code: r.code, message };
    return { code: fallbackCode, message };
  }
  return { code: fallbackCode, message: String(e) };
};

/**
 * The fused (elementwise) form of a stage cannot handle this image - a lookup-table Modality LUT, say: the
 * runtime runs the stage's `run` for it instead (on the GPU path, the whole input goes to the CPU path).
 * Not an error the user sees; the ledger notes the fallback.
 */
export class CpuFallback extends Data.TaggedError("CpuFallback")<{
  readonly code: "CPU_FALLBACK";
  readonly message: string;
}> {}
