/**
 * One input's outputs in flight: stage writes go to temporary files, which are renamed into place on
 * success (commit) or removed on failure (rollback), so no partial output is ever left.
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import type * as Exit from "effect/Exit";
import * as FileSystem from "effect/FileSystem";
import { dirname, join } from "node:path";
import { type CodedError, OutputWriteError, toCodedError } from "./errors.ts";
import type { InputFile } from "./inputs.ts";
import { Output, type OutputShape } from "./output.ts";
import { pid } from "./platform.ts";
import type { FramePrediction } from "./predictions.ts";
import type { Image } from "./tensor.ts";

/** One input's line in the ledger. */
export interface LedgerEntry {
  readonly input: string;
  readonly status: "ok" | "error";
  readonly outputs: ReadonlyArray<string>;
  readonly error?: CodedError & { readonly stage?: string };
  /** Wall time for this input, milliseconds (for batched GPU work: the batch's time shared out). */
  readonly ms: number;
  /** Set when this input ran on the CPU although the run used the GPU, with the reason. */
  readonly fallback?: string;
  /** After `infer`: what the model said, per frame (top classes, or mask coverage). */
  readonly predictions?: ReadonlyArray<FramePrediction>;
}

let tmpCounter = 0;

/** A unique temporary name next to `path`. */
export const tempName = (path: string): string => `${path}.tmp-${pid()}-${tmpCounter++}`;

/** The output staging of one input. */
export interface Session {
  readonly input: InputFile;
  /** The `Output` service for this input's stages. */
  readonly output: OutputShape;
  /** Renames every staged file into place; returns the final paths. On failure, removes them all. */
  readonly commit: Effect.Effect<ReadonlyArray<string>, OutputWriteError>;
  /** Removes every staged file and forgets them (the input can be run again). */
  readonly rollback: Effect.Effect<void>;
}

/** Opens the output session of `input` under `outDir`. */
export const openSession = (
  input: InputFile,
  outDir: string,
): Effect.Effect<Session, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    let staged: Array<{ readonly tmp: string; readonly final: string }> = [];
    const writeError = (path: string) => (e: { message: string }) =>
      new OutputWriteError({ code: "WRITE_ERROR", message: `cannot write ${path}: ${e.message}` });
    const output = Output.of({
      input: input.path,
      write: (ext, bytes, suffix = "") => {
        const final = join(outDir, `${input.outputBase}${suffix}.${ext}`);
        const tmp = tempName(final);
        staged.push({ tmp, final });
        return Effect.gen(function* () {
          yield* fs.makeDirectory(dirname(final), { recursive: true });
          yield* fs.writeFile(tmp, bytes);
          return final;
        }).pipe(Effect.mapError(writeError(final)));
      },
    });
    const rollback = Effect.gen(function* () {
      for (const s of staged) yield* fs.remove(s.tmp).pipe(Effect.ignore);
      staged = [];
    });
    const commit = Effect.gen(function* () {
      const done: string[] = [];
      for (const s of staged) {
        const renamed = yield* Effect.result(
          fs.rename(s.tmp, s.final).pipe(Effect.mapError(writeError(s.final))),
        );
        if (renamed._tag === "Failure") {
          for (const f of done) yield* fs.remove(f).pipe(Effect.ignore);
          yield* rollback;
          return yield* Effect.fail(renamed.failure);
        }
        done.push(s.final);
      }
      staged = [];
      return done;
    });
    return { input, output, commit, rollback };
  });

/** The ledger entry for a finished input: commits on success, rolls back and records the error otherwise. */
export const finishSession = <E>(
  session: Session,
  exit: Exit.Exit<unknown, E>,
  stage: string,
  started: number,
  final?: Image,
): Effect.Effect<LedgerEntry> =>
  Effect.gen(function* () {
    const input = session.input.path;
    if (exit._tag === "Success") {
      const committed = yield* Effect.result(session.commit);
      const ms = Math.round(performance.now() - started);
      if (committed._tag === "Success") {
        const predictions = final?.predictions;
        return {
          input,
          status: "ok",
          outputs: committed.success,
          ms,
          ...(predictions ? { predictions } : {}),
        } as const;
      }
      const error = { ...toCodedError(committed.failure), stage: "commit" };
      return { input, status: "error", outputs: [], error, ms } as const;
    }
    yield* session.rollback;
    const failure = Cause.findErrorOption(exit.cause);
    const error = failure._tag === "Some"
      ? toCodedError(failure.value)
      : toCodedError(Cause.squash(exit.cause), "INTERNAL_ERROR");
    return {
      input,
      status: "error",
      outputs: [],
      error: { ...error, stage },
      ms: Math.round(performance.now() - started),
    } as const;
  });
