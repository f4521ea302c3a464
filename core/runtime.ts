/**
 * The runtime: runs a {@link Plan} over every input and writes the run ledger.
 *
 * Each input goes through the stages on its own; a failure (typed error or defect) becomes that input's
 * ledger entry with a stable code, and the others go on. Outputs are staged as temporary files and renamed
 * into place only when the input succeeded, so no partial file is ever left.
 *
 * @module
 */
import { Context, Effect, Exit, FileSystem, Layer, type Scope } from "effect";
import { failureOf, runStageOnCpu } from "./cpu-stage.ts";
import { dirname, join } from "node:path";
import { InputReadError, OutputWriteError, PipelineError } from "./errors.ts";
import { Gpu, GpuLive, type GpuShape } from "./gpu/device.ts";
import { DEFAULT_GPU_OPTIONS, type GpuRunOptions, precompile, runInputsGpu } from "./gpu/executor.ts";
import { BufferPool } from "./gpu/pool.ts";
import { checkOutputFolder, discoverInputs, type InputFile } from "./inputs.ts";
import type { DeviceChoice } from "./pipeline.ts";
import { type Plan, providePlugins } from "./planner.ts";
import { attachPredictions } from "./predictions.ts";
import { runtimeName } from "./platform.ts";
import { finishSession, type LedgerEntry, openSession, type Session, tempName } from "./session.ts";
import type { Image } from "./tensor.ts";
import { VERSION } from "./version.ts";

export type { LedgerEntry } from "./session.ts";

/** Where the stages ran. */
export interface DeviceInfo {
  readonly kind: "gpu" | "cpu";
  readonly adapter: string;
  /** Why `auto` chose what it chose, when that is worth saying. */
  readonly note?: string;
  /** Inputs the GPU run sent to the CPU path (e.g. Modality LUT Sequence images); each entry says why. */
  readonly cpuFallbacks?: number;
  /** Set when the device was lost during the run; later inputs ran on the CPU. */
  readonly lost?: string;
}

/** The run ledger, written to `DIR/dcmflow-run.json`. */
export interface Ledger {
  readonly pipeline: {
    readonly file: string;
    readonly name: string;
    readonly overrides: ReadonlyArray<string>;
    readonly stages: ReadonlyArray<
      { readonly use: string; readonly id?: string; readonly with: unknown; readonly info?: unknown }
    >;
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
  /** GPU path tuning (fusion, batch size, memory budget). */
  readonly gpu?: Partial<GpuRunOptions>;
}

/** Name of the ledger file in the output folder. */
export const LEDGER_FILE = "dcmflow-run.json";

/** Writes `bytes` to `path` atomically: a temporary file beside it, then a rename. */
export const writeFileAtomic = (
  path: string,
  bytes: Uint8Array,
): Effect.Effect<void, OutputWriteError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const tmp = tempName(path);
    yield* fs.makeDirectory(dirname(path), { recursive: true });
    yield* fs.writeFile(tmp, bytes);
    yield* fs.rename(tmp, path).pipe(Effect.tapError(() => fs.remove(tmp).pipe(Effect.ignore)));
  }).pipe(
    Effect.mapError((e) =>
      new OutputWriteError({ code: "WRITE_ERROR", message: `cannot write ${path}: ${e.message}` })
    ),
  );

/** Inputs the CPU path takes per round: the largest `batchSize` of a batching stage, else 1. */
export const cpuRoundSize = (plan: Plan): number =>
  Math.max(1, ...plan.stages.map((s) => (s.stage.runBatch ? s.stage.batchSize?.(s.params) ?? 1 : 1)));

/**
 * Runs every stage of `plan` on the CPU for a round of inputs, stage by stage (so batching stages see the
 * images of several inputs at once); each input's outputs are committed only if all its stages succeeded.
 */
export const processRoundCpu = (
  plan: Plan,
  inputs: ReadonlyArray<InputFile>,
  outDir: string,
): Effect.Effect<ReadonlyArray<LedgerEntry>, never, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const items: Array<{
      readonly session: Session;
      readonly started: number;
      image?: Image;
      failed?: { readonly error: unknown; readonly stage: string };
    }> = [];
    for (const input of inputs) {
      const started = performance.now();
      const session = yield* openSession(input, outDir);
      const exit = yield* Effect.exit(
        Effect.flatMap(readInput(fs, input), (bytes) =>
          plan.source.stage.run({ path: input.path, bytes }, plan.source.params))
          .pipe(providePlugins(plan)),
      );
      items.push(
        Exit.isSuccess(exit)
          ? { session, started, image: exit.value }
          : { session, started, failed: { error: failureOf(exit.cause), stage: plan.source.label } },
      );
    }
    for (const s of plan.stages) {
      const active = items.filter((it) =>
        !it.failed
      );
      if (active.length === 0) break;
      const outcomes = yield* runStageOnCpu(
        plan,
        s,
        active.map((it) => it.image!),
        active.map((it) => it.session),
      );
      active.forEach((it, k) => {
        const o = outcomes[k];
        if (o.ok) it.image = o.image;
        else it.failed = { error: o.error, stage: s.label };
      });
    }
    const entries: LedgerEntry[] = [];
    for (const it of items) {
      const result = it.failed ? Exit.fail(it.failed.error) : Exit.void;
      const final = it.image && attachPredictions(plan.stages, it.image);
      entries.push(yield* finishSession(it.session, result, it.failed?.stage ?? "", it.started, final));
    }
    return entries;
  });

/** Reads an input file, as a typed per-input error when it cannot be read. */
export const readInput = (fs: FileSystem.FileSystem, input: InputFile) =>
  fs.readFile(input.path).pipe(
    Effect.mapError((e) =>
      new InputReadError({ code: "READ_ERROR", message: `cannot read ${input.path}: ${e.message}` })
    ),
  );

/** The device chosen for a run, and the GPU when it is used. */
interface DeviceChoiceResult {
  readonly info: DeviceInfo;
  readonly gpu?: GpuShape;
}

const cpuInfo = (note?: string): DeviceInfo => ({
  kind: "cpu",
  adapter: `cpu (${runtimeName()}, ${globalThis.navigator?.hardwareConcurrency ?? "?"} threads)`,
  ...(note ? { note } : {}),
});

/**
 * `cpu`: the CPU path. `gpu`: the WebGPU path, or a pipeline error when there is no adapter. `auto`: the GPU
 * on a hardware adapter; the CPU on a software adapter (llvmpipe and the like), where `deno task bench`
 * measures the CPU path faster, or when there is no adapter. The GPU device lives until the scope closes.
 */
export const chooseDevice = (
  choice: DeviceChoice,
): Effect.Effect<DeviceChoiceResult, PipelineError, Scope.Scope> =>
  Effect.gen(function* () {
    if (choice === "cpu") return { info: cpuInfo() };
    // The device comes from the GpuLive Layer, built in the run's scope (destroyed when the run ends).
    const acquired = yield* Effect.result(Effect.map(Layer.build(GpuLive), (ctx) => Context.get(ctx, Gpu)));
    if (acquired._tag === "Failure") {
      if (choice === "gpu") {
        return yield* new PipelineError({
          code: "DEVICE_UNAVAILABLE",
          message: `device gpu: ${acquired.failure.message}; use --device cpu (or auto)`,
        });
      }
      return { info: cpuInfo(`no GPU: ${acquired.failure.message}`) };
    }
    const gpu = acquired.success;
    if (choice === "auto" && gpu.software) {
      return {
        info: cpuInfo(`GPU adapter "${gpu.adapter}" is a software rasteriser; the CPU path is faster there`),
      };
    }
    return { info: { kind: "gpu", adapter: gpu.adapter }, gpu };
  });

/** Inputs read and prepared per GPU round (bounds host memory; batches form within a round). */
const GPU_ROUND = 64;

/**
 * Runs `plan` over the inputs; returns the ledger (also written to `DIR/dcmflow-run.json`).
 * Fails only for problems found before the first input (device, WGSL, unreadable `--input` paths).
 */
export const runPlan = (
  plan: Plan,
  options: RunOptions,
): Effect.Effect<Ledger, PipelineError | OutputWriteError, FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function* () {
    const started = new Date();
    const fs = yield* FileSystem.FileSystem;
    yield* checkOutputFolder(options.out);
    const inputs = yield* discoverInputs(options.inputs, options.out);
    const chosen = yield* chooseDevice(options.device ?? plan.pipeline.device);
    let device = chosen.info;
    const gpu = chosen.gpu;
    if (gpu) {
      yield* precompile(plan, gpu).pipe(
        Effect.mapError((e) => new PipelineError({ code: "WGSL_COMPILE", message: e.message })),
      );
    }
    options.onStart?.({ total: inputs.length, device });
    const gpuOptions = { ...DEFAULT_GPU_OPTIONS, ...options.gpu };
    const pool = gpu ? new BufferPool(gpu) : undefined;
    const claimed = new Map<string, string>();
    const entries: LedgerEntry[] = [];
    let failed = 0;
    let fallbacks = 0;
    let lost: string | undefined;
    const record = (entry: LedgerEntry) => {
      if (entry.status === "error") failed++;
      entries.push(entry);
      options.onProgress?.({ done: entries.length, total: inputs.length, failed, last: entry });
    };
    const conflicts = new Map<InputFile, LedgerEntry>();
    for (const input of inputs) {
      if (input.problem) {
        conflicts.set(input, {
          input: input.path,
          status: "error",
          outputs: [],
          error: input.problem,
          ms: 0,
        });
        continue;
      }
      const owner = claimed.get(input.outputBase);
      if (owner === undefined) {
        claimed.set(input.outputBase, input.path);
        continue;
      }
      conflicts.set(input, {
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
      });
    }
    for (let at = 0; at < inputs.length;) {
      const round = inputs.slice(at, at + (gpu && !lost ? GPU_ROUND : cpuRoundSize(plan)));
      at += round.length;
      const todo = round.filter((i) => !conflicts.has(i));
      const done = new Map<InputFile, LedgerEntry>();
      if (gpu && pool && !lost) {
        const r = yield* runInputsGpu(plan, gpu, pool, todo, options.out, fs, gpuOptions);
        r.entries.forEach((e) => done.set(todo.find((i) => i.path === e.input)!, e));
        for (const f of r.fallback) {
          const [e] = yield* processRoundCpu(plan, [f.input], options.out);
          done.set(f.input, { ...e, fallback: f.reason });
          fallbacks++;
        }
        lost ??= r.deviceLost;
      } else {
        const r = yield* processRoundCpu(plan, todo, options.out);
        todo.forEach((input, k) => done.set(input, r[k]));
      }
      for (const input of round) record(conflicts.get(input) ?? done.get(input)!);
    }
    pool?.clear();
    if (gpu) {
      device = {
        ...device,
        ...(fallbacks > 0 ? { cpuFallbacks: fallbacks } : {}),
        ...(lost ? { lost } : {}),
      };
    }
    const ledger: Ledger = {
      pipeline: {
        file: plan.pipeline.file,
        name: plan.pipeline.name,
        overrides: plan.pipeline.overrides,
        stages: [plan.source, ...plan.stages].map((s) => {
          const info = "report" in s.stage ? s.stage.report?.(s.params) : undefined;
          return {
            use: s.decl.use,
            ...(s.decl.id !== undefined ? { id: s.decl.id } : {}),
            with: s.decl.with,
            ...(info ? { info } : {}),
          };
        }),
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
  }));
