/**
 * The runtime: runs a {@link Plan} over every input and writes the run ledger.
 *
 * - Inputs are found (`--input` files and folders), kept to this run's shard (`--shard I/N`: a stable hash
 *   of each input's relative path), and processed on worker threads (and this thread) or on the
 *   GPU. Each input goes through the stages on its own; a failure becomes that input's ledger entry with a
 *   stable code, and the others go on.
 * - Outputs are staged as temporary files and renamed into place only when their input succeeded, so no
 *   partial file is ever left. Inputs are committed in input order, whatever order they finish in.
 * - The ledger grows as the run goes (a journal beside it, see run/journal.ts), so a killed run loses at
 *   most the inputs in flight, and `--resume` continues it. A live run holds the folder's lock.
 * - An abort signal (SIGINT/SIGTERM in the CLI) stops taking new inputs; those in flight finish, and the
 *   ledger says the run was interrupted.
 *
 * @module
 */
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as Fiber from "effect/Fiber";
import * as FileSystem from "effect/FileSystem";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { RunCollectors } from "./collect.ts";
import { OutputWriteError, PipelineError } from "./errors.ts";
import { Gpu, GpuLive, type GpuShape, noGpuDeviceNode, probeAdapter } from "./gpu/device.ts";
import {
  DEFAULT_GPU_OPTIONS,
  GpuRun,
  type GpuRunOptions,
  precompile,
  type PreparedInput,
  prepareInput,
  READ_AHEAD,
} from "./gpu/executor.ts";
import { BufferPool } from "./gpu/pool.ts";
import { groupInputs, isFailedUnit, isGroupInput, withGroupInfo } from "./group.ts";
import {
  countInputs,
  discoverInputs,
  type InputCount,
  type InputFile,
  type ListedInput,
  walkInputs,
} from "./inputs.ts";
import type { DeviceChoice } from "./pipeline.ts";
import type { Plan } from "./planner.ts";
import { availableParallelism, hasWorkerThreads, runtimeName } from "./platform.ts";
import { Journal } from "./run/journal.ts";
import {
  type DeviceInfo,
  type Ledger,
  makeLedger,
  type Progress,
  writeJsonAtomic,
  writeLedgerFromJournal,
} from "./run/ledger.ts";
import { acquireLock } from "./run/lock.ts";
import { journalName, ledgerName, parseShard, RUN_FILE_PREFIX, runTag, type Shard } from "./run/names.ts";
import { planHash } from "./run/plan_hash.ts";
import { defaultWorkerCount, releasePrestarted, WorkerPool } from "./run/pool.ts";
import { runCpu } from "./run/cpu_run.ts";
import { InputFeed, isKnown, type PlannedInput } from "./run/feed.ts";
import { CpuProcessor, type InputTask } from "./run/process.ts";
import { commitResult, RunRecorder } from "./run/recorder.ts";
import { checkResumable, intact, readPrior, removeTemporaries } from "./run/resume.ts";
import { inShard } from "./run/shard.ts";
import { type LedgerEntry, setTempTag, takeRows, tempName } from "./session.ts";

export type { LedgerEntry } from "./session.ts";
export type { DeviceInfo, Ledger, LedgerSummary, Progress } from "./run/ledger.ts";
export { LEDGER_FILE, type Shard } from "./run/names.ts";

/** How to run. */
export interface RunOptions {
  readonly inputs: ReadonlyArray<string>;
  readonly out: string;
  /** Overrides the pipeline's `device:`. */
  readonly device?: DeviceChoice;
  readonly onProgress?: (p: Progress) => void;
  /** Called once the inputs are known, before the first is processed. */
  readonly onStart?: (info: StartInfo) => void;
  /** Fuse consecutive elementwise stages (one pass on the CPU, one kernel on the GPU); default true. */
  readonly fuse?: boolean;
  /** GPU path tuning (batch size, memory budget). */
  readonly gpu?: Partial<GpuRunOptions>;
  /**
   * Worker threads for the CPU path (default: one per core but one, the calling thread processing inputs
   * too); 0 runs everything on the calling thread.
   */
  readonly workers?: number;
  /** The worker threads' entry module (the face provides it: `worker.ts`); without it, no workers. */
  readonly workerUrl?: URL | string;
  /**
   * A self-contained worker entry (its own copy of every package: it loads faster), for plans without
   * `plugins:` - a plugin must share dcmflow's copy of `effect`, so those plans use {@link workerUrl}.
   */
  readonly standaloneWorkerUrl?: URL | string;
  /**
   * With workers: the calling thread processes inputs too - until the first worker is ready, and all along
   * when the workers leave a core free, as by default (default true; false: the workers do everything).
   */
  readonly helpWhileStarting?: boolean;
  /** Process only this deterministic part of the inputs: shard I of N (`"I/N"` or `{ index, count }`). */
  readonly shard?: Shard | string;
  /** Skip inputs an earlier run of the same pipeline into `out` finished with intact outputs. */
  readonly resume?: boolean;
  /** With `resume`: resume even though the pipeline changed. */
  readonly force?: boolean;
  /** Aborting stops taking new inputs; the reason (e.g. "SIGINT") is recorded in the ledger. */
  readonly signal?: AbortSignal;
  /**
   * Keep every input's entry in memory for the returned ledger (default true). false: the returned ledger's
   * `inputs` is empty - the ledger file lists them all, written from the journal one at a time, and
   * `onProgress` sees each entry as it is recorded - so the entries (~0.5 KiB per input) are not held.
   */
  readonly keepEntries?: boolean;
}

/** What {@link RunOptions.onStart} is told. */
export interface StartInfo {
  /** Inputs this run (or shard) will record, resumed ones included. */
  readonly total: number;
  readonly device: DeviceInfo;
  readonly workers: number;
  /** Inputs `--resume` skips. */
  readonly resumed: number;
  readonly shard?: Shard;
}

/** The device chosen for a run, and the GPU when it is used. */
interface DeviceChoiceResult {
  readonly info: DeviceInfo;
  readonly gpu?: GpuShape;
}

const cpuInfo = (note?: string): DeviceInfo => ({
  kind: "cpu",
  adapter: `cpu (${runtimeName()}, ${availableParallelism()} threads)`,
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
    if (choice === "auto") {
      // Without a GPU device node there is no hardware adapter to find (Linux): no probe, no Vulkan start-up.
      const absent = noGpuDeviceNode();
      if (absent !== undefined) return { info: cpuInfo(`no GPU: ${absent}`) };
      // Decide from the adapter alone: a software one (or none) means the CPU path, and no device is made.
      const probed = yield* Effect.result(probeAdapter);
      if (probed._tag === "Failure") return { info: cpuInfo(`no GPU: ${probed.failure.message}`) };
      if (probed.success.software) {
        const note =
          `GPU adapter "${probed.success.adapter}" is a software rasteriser; the CPU path is faster there`;
        return { info: cpuInfo(note) };
      }
    }
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
    return { info: { kind: "gpu", adapter: gpu.adapter }, gpu };
  });

const conflictEntry = (input: InputFile, message: string): LedgerEntry => ({
  input: input.path,
  status: "error",
  outputs: [],
  error: { code: "OUTPUT_CONFLICT", message },
  ms: 0,
});

/**
 * The output names claimed so far, and by which input. A run over one `--input`, listed as it goes, only
 * notes the inputs its walk marked {@link ListedInput.shared} (no others can have the same name): not one
 * name per input.
 */
class OutputClaims {
  readonly #owners = new Map<string, string>();

  /** @param everyInput note every input (else only those marked shared) */
  constructor(readonly everyInput: boolean) {}

  /** The input that claimed `input`'s output name first; undefined when that is `input` (claimed now). */
  ownerOf(input: ListedInput): string | undefined {
    if (!this.everyInput && !input.shared) return undefined;
    const owner = this.#owners.get(input.outputBase);
    if (owner === undefined) this.#owners.set(input.outputBase, input.path);
    return owner;
  }
}

/** Why an input cannot be processed: its outputs would overwrite another's, or the run's own files. */
const conflictOf = (input: InputFile, claims: OutputClaims): string | undefined => {
  const base = input.outputBase;
  if (!base.includes("/") && `${base}.`.startsWith(RUN_FILE_PREFIX)) {
    return `its outputs (${base}.*) would land on the run's own files (${RUN_FILE_PREFIX}*); rename the ` +
      "file or put it in a sub-folder of the --input folder";
  }
  const owner = claims.ownerOf(input);
  if (owner !== undefined) {
    return `its outputs would overwrite those of ${owner} (same name); pass the files' common folder ` +
      "as --input so the outputs keep their relative paths";
  }
  return undefined;
};

/**
 * Input `index`'s part in this run: none (another shard's), an entry known up front (a problem, an output
 * conflict, resumed) or work. `claims`: the output names of the inputs planned so far.
 */
const planInput = (
  input: InputFile,
  index: number,
  shard: Shard | undefined,
  resumeFrom: ReadonlyMap<string, LedgerEntry> | undefined,
  claims: OutputClaims,
): PlannedInput | undefined => {
  if (!inShard(input.outputBase, shard)) return undefined;
  if (isFailedUnit(input)) return { index, entry: input.failed };
  if (input.problem) {
    return { index, entry: { input: input.path, status: "error", outputs: [], error: input.problem, ms: 0 } };
  }
  const conflict = conflictOf(input, claims);
  if (conflict) return { index, entry: conflictEntry(input, conflict) };
  const earlier = resumeFrom?.get(input.path);
  // [collect] rows an earlier run added to a run-level output are not carried over: such inputs run again.
  if (earlier && intact(earlier) && !earlier.collected?.length) {
    return { index, entry: earlier, resumed: true };
  }
  return {
    index,
    path: input.path,
    outputBase: input.outputBase,
    ...(isGroupInput(input) ? { group: input.group } : {}),
  };
};

/** This run's inputs, planned one at a time as `inputs` yields them (indices count every input found). */
function* planEach(
  inputs: Iterable<InputFile>,
  shard: Shard | undefined,
  resumeFrom: ReadonlyMap<string, LedgerEntry> | undefined,
  claims = new OutputClaims(true),
): Generator<PlannedInput, void, undefined> {
  let index = 0;
  for (const input of inputs) {
    const planned = planInput(input, index++, shard, resumeFrom, claims);
    if (planned) yield planned;
  }
}

/** The whole list planned up front (resume needs the count of carried-over entries first). */
const sortInputs = (
  all: ReadonlyArray<InputFile>,
  shard: Shard | undefined,
  resumeFrom: ReadonlyMap<string, LedgerEntry> | undefined,
): InputFeed => {
  const planned = Array.from(planEach(all, shard, resumeFrom));
  const resumed = planned.filter((p) => isKnown(p) && p.resumed).length;
  return new InputFeed(planned, planned.length, resumed);
};

/** Checks `--out` and creates it: an existing file there is a command-line error (nothing runs). */
const prepareOutDir = (out: string): Effect.Effect<void, PipelineError> =>
  Effect.try({
    try: () => {
      let isFile = false;
      try {
        isFile = !statSync(out).isDirectory();
      } catch {
        // does not exist yet
      }
      if (isFile) throw new Error(`--out ${out} is a file; give a folder (it is created when missing)`);
      mkdirSync(out, { recursive: true });
    },
    catch: (e) =>
      new PipelineError({ code: "INVALID_ARGUMENTS", message: e instanceof Error ? e.message : String(e) }),
  });

/** The shard option, parsed. */
const shardOf = (shard: RunOptions["shard"]): Effect.Effect<Shard | undefined, PipelineError> => {
  if (shard === undefined || typeof shard === "object") return Effect.succeed(shard);
  const parsed = parseShard(shard);
  return typeof parsed === "string"
    ? Effect.fail(new PipelineError({ code: "INVALID_ARGUMENTS", message: parsed }))
    : Effect.succeed(parsed);
};

/** The folder's lock for this run's tag, released when the run's scope closes. */
const holdLock = (out: string, shard: Shard | undefined) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => acquireLock(out, shard),
      catch: (e) =>
        e instanceof PipelineError
          ? e
          : new PipelineError({ code: "OUTPUT_LOCKED", message: `cannot lock ${out}: ${String(e)}` }),
    }),
    (lock) => Effect.sync(() => lock.release()),
  );

/**
 * The inputs to record, after resume and conflicts; fails when resume is refused. `listed` is the list found
 * (series), or what the count of the walk found: then they are planned as the walk finds them,
 * unless an earlier run is resumed (the entries it carries over are counted first).
 */
const planInputs = (
  plan: Plan,
  options: RunOptions,
  shard: Shard | undefined,
  listed: ReadonlyArray<InputFile> | InputCount,
) =>
  Effect.try({
    try: () => {
      const prior = options.resume ? readPrior(options.out, shard) : undefined;
      if (prior) checkResumable(prior, planHash(plan), options.force ?? false, options.out);
      if (Array.isArray(listed)) return sortInputs(listed, shard, prior?.entries);
      const counted = listed as InputCount;
      if (prior) return sortInputs(Array.from(walkInputs(options.inputs, options.out)), shard, prior.entries);
      const found = walkInputs(options.inputs, options.out, counted);
      return new InputFeed(
        planEach(found, shard, undefined, new OutputClaims(!counted.single)),
        counted.total,
        0,
      );
    },
    catch: (e) =>
      e instanceof PipelineError ? e : new PipelineError({ code: "INVALID_ARGUMENTS", message: String(e) }),
  });

/**
 * Opens the journal (the old ledger of this tag is removed at once: from now on the journal describes the
 * folder), after removing a killed run's temporary files.
 */
const openJournal = (plan: Plan, options: RunOptions, shard: Shard | undefined, total: number) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const tag = runTag(shard);
      setTempTag(tag);
      removeTemporaries(options.out, tag);
      const journal = Journal.create(join(options.out, journalName(shard)), {
        journal: 1,
        planHash: planHash(plan),
        tag,
        started: new Date().toISOString(),
        total,
      });
      rmSync(join(options.out, ledgerName(shard)), { force: true });
      return journal;
    }),
    (journal) => Effect.sync(() => journal.close()),
  );

/**
 * [collect] The plan's run-level outputs, open before the first input (temporary names with the run's tag,
 * so a killed run's are removed by the next); removed when the run ends without finishing them.
 */
const openCollectors = (plan: Plan, out: string, shard: Shard | undefined) =>
  Effect.acquireRelease(
    Effect.try({
      try: () => RunCollectors.open(plan.collections, out, { tempName, ...(shard ? { shard } : {}) }),
      catch: (e) =>
        new PipelineError({
          code: "WRITE_ERROR",
          message: `cannot start a run-level output: ${
            e instanceof OutputWriteError ? e.message : String(e)
          }`,
        }),
    }),
    (collectors) => Effect.sync(() => collectors.abort()),
  );

/**
 * Workers to start for `rounds` rounds of work (none for a single round, without an entry module, or on a
 * runtime without worker threads).
 */
const workerCount = (plan: Plan, options: RunOptions, rounds: number): number => {
  if (!options.workerUrl || !plan.registry.portable || !hasWorkerThreads()) return 0;
  const wanted = options.workers ?? defaultWorkerCount();
  return Math.max(0, Math.min(wanted, rounds > 1 ? rounds : 0));
};

/** What the CPU and GPU paths need to know about the run. */
interface RunContext {
  readonly plan: Plan;
  readonly options: RunOptions;
  readonly recorder: RunRecorder;
  readonly local: CpuProcessor;
  /** The worker threads of the CPU path (none: this thread does everything). */
  readonly pool?: WorkerPool;
}

const aborted = (options: RunOptions) => options.signal?.aborted === true;

/** The worker entry for a plan: the self-contained one unless the plan loads plugins. */
const workerEntry = (plan: Plan, options: RunOptions): URL | string =>
  plan.pipeline.plugins.length === 0 && options.standaloneWorkerUrl !== undefined
    ? options.standaloneWorkerUrl
    : options.workerUrl!;

/**
 * Starts `count` worker threads for the run (closed when the run's scope closes); none for 0. Workers
 * started ahead that the pool does not adopt are ended.
 */
const startWorkers = (plan: Plan, options: RunOptions, count: number, shard: Shard | undefined) =>
  count === 0 ? Effect.sync(() => void releasePrestarted()) : Effect.acquireRelease(
    Effect.sync(() => {
      const pool = new WorkerPool(workerEntry(plan, options), count, {
        pipeline: { text: plan.pipeline.text, file: plan.pipeline.file, overrides: plan.pipeline.overrides },
        outDir: options.out,
        tempTag: runTag(shard),
        fuse: options.fuse ?? true,
      });
      releasePrestarted();
      return pool;
    }),
    (pool) => Effect.sync(() => pool.close()),
  );

/** The GPU path: rounds of inputs on the device; fallbacks and everything after a device loss on the CPU. */
const runGpu = (ctx: RunContext, gpu: GpuShape, todo: ReadonlyArray<InputTask>) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const { plan, options, recorder } = ctx;
    const gpuOptions = {
      ...DEFAULT_GPU_OPTIONS,
      ...(options.fuse === false ? { fuse: false } : {}),
      ...options.gpu,
    };
    const buffers = new BufferPool(gpu);
    const byPath = new Map(todo.map((t) => [t.path, t]));
    // One GpuRun for the whole run: batches stream, the next one parsed and submitted while the last lands.
    const run = new GpuRun(plan, gpu, buffers, options.out, gpuOptions, (input, entry) => {
      const task = byPath.get(input.path)!;
      recorder.accept({ index: task.index, entry: withGroupInfo(task, entry), rows: takeRows(entry) });
    });
    const ahead: Array<Fiber.Fiber<PreparedInput>> = [];
    let next = 0;
    while (next < todo.length || ahead.length > 0) {
      while (ahead.length < READ_AHEAD && next < todo.length && !aborted(options)) {
        ahead.push(yield* Effect.forkChild(prepareInput(plan, todo[next++], fs)));
      }
      if (ahead.length === 0) break;
      yield* run.add(yield* Fiber.join(ahead.shift()!));
    }
    const r = yield* run.finish();
    buffers.clear();
    // Inputs the GPU forms could not take (or all after a device loss) run on the CPU path.
    for (const f of r.fallback) {
      const [result] = yield* Effect.promise(() => ctx.local.processRound([byPath.get(f.input.path)!]));
      const entry = { ...commitResult(result), fallback: f.reason };
      recorder.accept({ index: result.index, entry, ...(result.rows ? { rows: result.rows } : {}) });
    }
    return {
      fallbacks: r.fallback.length,
      lost: r.deviceLost,
      abandoned: todo.slice(next).map((t) => t.index),
    };
  });

/** Runs the inputs on the chosen device; where they ran, and those never processed (abort). */
const runInputs = (ctx: RunContext, chosen: DeviceChoiceResult, feed: InputFeed) =>
  Effect.gen(function* () {
    if (!chosen.gpu) {
      return { device: chosen.info, abandoned: yield* Effect.promise(() => runCpu(ctx, feed)) };
    }
    const r = yield* runGpu(ctx, chosen.gpu, feed.rest());
    const device: DeviceInfo = {
      ...chosen.info,
      ...(r.fallbacks > 0 ? { cpuFallbacks: r.fallbacks } : {}),
      ...(r.lost ? { lost: r.lost } : {}),
    };
    return { device, abandoned: r.abandoned };
  });

/**
 * Finds the inputs (nothing is created when an `--input` is missing), then creates and locks the output
 * folder, then plans them: work, carried-over and refused inputs. One input per file (`group: file`): only
 * counted here (the journal's header, the progress and the stack's order need the count first), then listed
 * folder by folder as the run consumes them, none held once handed out. Series are grouped from the whole
 * list.
 */
const listInputs = (plan: Plan, options: RunOptions, shard: Shard | undefined) =>
  Effect.gen(function* () {
    const listed = groupsFiles(plan)
      ? yield* countInputs(options.inputs, options.out, (input) => inShard(input.outputBase, shard))
      : yield* groupInputs(plan, yield* discoverInputs(options.inputs, options.out));
    yield* prepareOutDir(options.out);
    yield* holdLock(options.out, shard);
    return yield* planInputs(plan, options, shard, listed);
  });

/** Whether one input is one file (no grouping into series). */
const groupsFiles = (plan: Plan): boolean => plan.pipeline.group === "file" || !plan.source.stage.group;

/**
 * Rounds of work ahead, for the worker count: exact up to one more than the workers wanted (more would not
 * change the count), so that few inputs are looked at ahead of the run.
 */
const roundsAhead = (feed: InputFeed, options: RunOptions, size: number): number => {
  const enough = Math.max(options.workers ?? defaultWorkerCount(), 1) + 1;
  return Math.ceil(feed.tasksAhead(enough * size) / size);
};

/**
 * Runs `plan` over the inputs; returns the ledger (also written to `DIR/dcmflow-run.json`, or the shard's
 * ledger). Fails only for problems found before the first input (arguments, lock, resume, device, WGSL).
 */
export const runPlan = (
  plan: Plan,
  options: RunOptions,
): Effect.Effect<Ledger, PipelineError | OutputWriteError, FileSystem.FileSystem> =>
  Effect.scoped(Effect.gen(function* () {
    const started = new Date();
    const shard = yield* shardOf(options.shard);
    const inputs = yield* listInputs(plan, options, shard);
    const local = new CpuProcessor(plan, options.out, { fuse: options.fuse ?? true });
    const choice = options.device ?? plan.pipeline.device;
    // Workers start now, so that they load while the device is chosen and the journal opened.
    const rounds = roundsAhead(inputs, options, local.roundSize);
    const pool = yield* startWorkers(
      plan,
      options,
      choice === "gpu" ? 0 : workerCount(plan, options, rounds),
      shard,
    );
    const chosen = yield* chooseDevice(choice);
    if (chosen.gpu) {
      pool?.close(); // the GPU path parses on this thread
      yield* precompile(plan, chosen.gpu).pipe(
        Effect.mapError((e) => new PipelineError({ code: "WGSL_COMPILE", message: e.message })),
      );
    }
    const journal = yield* openJournal(plan, options, shard, inputs.total);
    const workers = chosen.gpu || !pool ? 0 : pool.size;
    options.onStart?.({
      total: inputs.total,
      device: chosen.info,
      workers,
      resumed: inputs.resumed,
      ...(shard ? { shard } : {}),
    });
    const total = inputs.total;
    const collectors = yield* openCollectors(plan, options.out, shard); // [collect]
    const recorder = new RunRecorder(
      [],
      journal,
      (last, done, failed) => options.onProgress?.({ done, total, failed, last }),
      collectors,
      { keep: options.keepEntries ?? true },
    );
    inputs.attach(recorder);
    const ctx: RunContext = {
      plan,
      options,
      recorder,
      local,
      ...(pool && !chosen.gpu ? { pool } : {}),
    };
    const { device, abandoned } = yield* runInputs(ctx, chosen, inputs);
    recorder.skip(abandoned);
    const collected = collectors.finish(abandoned.length === 0); // [collect]
    const interrupted = aborted(options) ? String(options.signal?.reason ?? "aborted") : undefined;
    const ledger = makeLedger(
      {
        plan,
        device,
        workers,
        ...(shard ? { shard } : {}),
        started,
        ...(interrupted ? { interrupted } : {}),
        pending: abandoned.length,
        resumed: inputs.resumed,
        collected,
      },
      recorder.entries(),
      recorder.counts(),
    );
    yield* writeLedger(options.out, shard, ledger, options.keepEntries === false);
    return ledger;
  }));

/**
 * Writes the ledger (its entries from the journal when they were not kept in memory), then removes the
 * journal it folds in (an interrupted run resumes from its ledger).
 */
const writeLedger = (out: string, shard: Shard | undefined, ledger: Ledger, fromJournal: boolean) =>
  Effect.try({
    try: () => {
      const journal = join(out, journalName(shard));
      if (fromJournal) writeLedgerFromJournal(join(out, ledgerName(shard)), ledger, journal);
      else writeJsonAtomic(join(out, ledgerName(shard)), ledger);
      rmSync(journal, { force: true });
    },
    catch: (e) =>
      new PipelineError({ code: "WRITE_ERROR", message: `cannot write the ledger in ${out}: ${String(e)}` }),
  });
