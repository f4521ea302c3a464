/**
 * The runtime: runs a {@link Plan} over every input and writes the run ledger.
 *
 * Each input goes through the stages on its own; a failure (typed error or defect) becomes that input's
 * ledger entry with a stable code, and the others go on. Outputs are staged as temporary files and renamed
 * into place only when the input succeeded, so no partial file is ever left.
 *
 * @module
 */
import { Cause, Effect, Exit, FileSystem } from "effect";
import { dirname, join } from "node:path";
import {
  type CodedError,
  InputReadError,
  OutputWriteError,
  type PipelineError,
  toCodedError,
} from "./errors.ts";
import { discoverInputs, type InputFile } from "./inputs.ts";
import { Output } from "./output.ts";
import type { DeviceChoice } from "./pipeline.ts";
import { type Plan, providePlugins } from "./planner.ts";
import { pid, runtimeName } from "./platform.ts";
import type { Image } from "./tensor.ts";
import { VERSION } from "./version.ts";

/** One input's line in the ledger. */
export interface LedgerEntry {
  readonly input: string;
  readonly status: "ok" | "error";
  readonly outputs: ReadonlyArray<string>;
  readonly error?: CodedError & { readonly stage?: string };
  /** Wall time for this input, milliseconds. */
  readonly ms: number;
}

/** Where the stages ran. */
export interface DeviceInfo {
  readonly kind: "gpu" | "cpu";
  readonly adapter: string;
}

/** The run ledger, written to `DIR/dcmflow-run.json`. */
export interface Ledger {
  readonly pipeline: {
    readonly file: string;
    readonly name: string;
    readonly overrides: ReadonlyArray<string>;
    readonly stages: ReadonlyArray<{ readonly use: string; readonly id?: string; readonly with: unknown }>;
  };
  readonly device: DeviceInfo;
  readonly dcmflow: string;
  readonly runtime: string;
  readonly started: string;
  readonly finished: string;
  readonly summary: { readonly total: number; readonly ok: number; readonly error: number };
  readonly inputs: ReadonlyArray<LedgerEntry>;
}

/** Progress events, for a bar or log lines. */
export interface Progress {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  readonly last: LedgerEntry;
}

/** How to run. */
export interface RunOptions {
  readonly inputs: ReadonlyArray<string>;
  readonly out: string;
  /** Overrides the pipeline's `device:`. */
  readonly device?: DeviceChoice;
  readonly onProgress?: (p: Progress) => void;
  /** Called once the inputs are known, before the first is processed. */
  readonly onStart?: (info: { readonly total: number; readonly device: DeviceInfo }) => void;
}

/** Name of the ledger file in the output folder. */
export const LEDGER_FILE = "dcmflow-run.json";

/** The device the stages will run on. Only the CPU path exists in this version. */
export const selectDevice = (_choice: DeviceChoice): DeviceInfo => ({
  kind: "cpu",
  adapter: `cpu (${runtimeName()}, ${globalThis.navigator?.hardwareConcurrency ?? "?"} threads)`,
});

let tmpCounter = 0;

/** Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. */
export const writeFileAtomic = (
  path: string,
  bytes: Uint8Array,
): Effect.Effect<void, OutputWriteError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const tmp = `${path}.tmp-${pid()}-${tmpCounter++}`;
    yield* fs.makeDirectory(dirname(path), { recursive: true });
    yield* fs.writeFile(tmp, bytes);
    yield* fs.rename(tmp, path).pipe(Effect.tapError(() => fs.remove(tmp).pipe(Effect.ignore)));
  }).pipe(
    Effect.mapError((e) =>
      new OutputWriteError({ code: "WRITE_ERROR", message: `cannot write ${path}: ${e.message}` })
    ),
  );

/** Runs every stage for one input; outputs are committed only on success. */
const processInput = (
  plan: Plan,
  input: InputFile,
  outDir: string,
): Effect.Effect<LedgerEntry, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const started = performance.now();
    const staged: Array<{ readonly tmp: string; readonly final: string }> = [];
    let stage = plan.source.label;

    const output = Output.of({
      input: input.path,
      write: (ext, bytes, suffix = "") =>
        Effect.gen(function* () {
          const final = join(outDir, `${input.outputBase}${suffix}.${ext}`);
          const tmp = `${final}.tmp-${pid()}-${tmpCounter++}`;
          staged.push({ tmp, final });
          yield* fs.makeDirectory(dirname(final), { recursive: true });
          yield* fs.writeFile(tmp, bytes);
          return final;
        }).pipe(
          Effect.mapError((e) =>
            new OutputWriteError({ code: "WRITE_ERROR", message: `cannot write: ${e.message}` })
          ),
        ),
    });

    const work = Effect.gen(function* () {
      const bytes = yield* fs.readFile(input.path).pipe(
        Effect.mapError((e) =>
          new InputReadError({ code: "READ_ERROR", message: `cannot read ${input.path}: ${e.message}` })
        ),
      );
      let image: Image = yield* plan.source.stage.run({ path: input.path, bytes }, plan.source.params);
      for (const s of plan.stages) {
        stage = s.label;
        image = yield* s.stage.run(image, s.params);
      }
      stage = "commit";
      for (const s of staged) {
        yield* fs.rename(s.tmp, s.final).pipe(
          Effect.mapError((e) =>
            new OutputWriteError({ code: "WRITE_ERROR", message: `cannot write ${s.final}: ${e.message}` })
          ),
        );
      }
      return staged.map((s) => s.final);
    }).pipe(Effect.provideService(Output, output), providePlugins(plan));

    const exit = yield* Effect.exit(work);
    const ms = Math.round(performance.now() - started);
    if (Exit.isSuccess(exit)) return { input: input.path, status: "ok", outputs: exit.value, ms } as const;
    // Failed: remove everything this input staged (and anything already renamed), so nothing partial stays.
    for (const s of staged) {
      yield* fs.remove(s.tmp).pipe(Effect.ignore);
      if (stage === "commit") yield* fs.remove(s.final).pipe(Effect.ignore);
    }
    const failure = Cause.findErrorOption(exit.cause);
    const error = failure._tag === "Some"
      ? toCodedError(failure.value)
      : toCodedError(Cause.squash(exit.cause), "INTERNAL_ERROR");
    return { input: input.path, status: "error", outputs: [], error: { ...error, stage }, ms } as const;
  });

/**
 * Runs `plan` over the inputs; returns the ledger (also written to `DIR/dcmflow-run.json`).
 * Fails only for problems found before the first input (unreadable `--input` paths).
 */
export const runPlan = (
  plan: Plan,
  options: RunOptions,
): Effect.Effect<Ledger, PipelineError | OutputWriteError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const started = new Date();
    const device = selectDevice(options.device ?? plan.pipeline.device);
    const inputs = yield* discoverInputs(options.inputs, options.out);
    options.onStart?.({ total: inputs.length, device });
    const claimed = new Map<string, string>();
    const entries: LedgerEntry[] = [];
    let failed = 0;
    for (const input of inputs) {
      const owner = claimed.get(input.outputBase);
      const entry: LedgerEntry = owner !== undefined
        ? {
          input: input.path,
          status: "error",
          outputs: [],
          error: {
            code: "OUTPUT_CONFLICT",
            message:
              `its outputs would overwrite those of ${owner} (same name); pass the files' common folder ` +
              "as --input so the outputs keep their relative paths",
          },
          ms: 0,
        }
        : yield* processInput(plan, input, options.out);
      claimed.set(input.outputBase, input.path);
      if (entry.status === "error") failed++;
      entries.push(entry);
      options.onProgress?.({ done: entries.length, total: inputs.length, failed, last: entry });
    }
    const ledger: Ledger = {
      pipeline: {
        file: plan.pipeline.file,
        name: plan.pipeline.name,
        overrides: plan.pipeline.overrides,
        stages: [plan.source, ...plan.stages].map((s) => ({
          use: s.decl.use,
          ...(s.decl.id !== undefined ? { id: s.decl.id } : {}),
          with: s.params,
        })),
      },
      device,
      dcmflow: VERSION,
      runtime: runtimeName(),
      started: started.toISOString(),
      finished: new Date().toISOString(),
      summary: { total: entries.length, ok: entries.length - failed, error: failed },
      inputs: entries,
    };
    yield* writeFileAtomic(
      join(options.out, LEDGER_FILE),
      new TextEncoder().encode(JSON.stringify(ledger, null, 2) + "\n"),
    );
    return ledger;
  });
