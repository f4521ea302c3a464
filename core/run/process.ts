/**
 * Processing inputs on the CPU: read, decode, every stage, outputs staged - the work a worker thread does
 * (and the main thread, with `workers: 0`).
 *
 * Inputs come in rounds (one input, or as many as the largest `batchSize` of a batching stage such as
 * `infer`): each input goes through the source stage and the fused chain on its own, then the round goes
 * stage by stage so that batching stages see several inputs at once. A failure is that input's alone.
 *
 * The result of an input is plain data (structured-clonable, for `postMessage`): its staged output files
 * (committed by the run's owner, in input order) or its coded error, with its outputs already removed.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import { closeSync, openSync, readSync } from "node:fs";
import { failureOf, runStageOnCpu } from "../cpu-stage.ts";
import { afterStage, ChainFailure, FusedChain, type Loaded, loadSource, runsAlone } from "../cpu/fused.ts";
import { recycleTensors } from "../cpu/tensor_pool.ts";
import type { StagedRows } from "../collect.ts";
import { type CodedError, toCodedError } from "../errors.ts";
import { type Plan, providePlugins } from "../planner.ts";
import { attachPredictions, type FramePrediction } from "../predictions.ts";
import { discardStaged, entryWarnings, makeSession, type Session, type StagedFile } from "../session.ts";
import type { FileGroup, Upload } from "../stage.ts";
import { groupInfo, runGroupInput } from "../group.ts";
import type { Image } from "../tensor.ts";

/** One input to process: its position among all inputs found, where to read it, where its outputs go. */
export interface InputTask {
  readonly index: number;
  readonly path: string;
  readonly outputBase: string;
  /** Set when the input is a group of files (`group: series`; see core/group.ts). */
  readonly group?: FileGroup;
}

/** What processing one input gave (plain data). */
export interface TaskResult {
  readonly index: number;
  readonly input: string;
  readonly ms: number;
  /** Succeeded: the staged outputs, to commit. */
  readonly staged?: ReadonlyArray<StagedFile>;
  readonly predictions?: ReadonlyArray<FramePrediction>;
  /** Failed: the coded error and the stage it happened in. */
  readonly error?: CodedError & { readonly stage: string };
  /** A group's member files and warnings (see core/group.ts). */
  readonly members?: ReadonlyArray<string>;
  readonly warnings?: ReadonlyArray<string>;
  /** Succeeded: rows for run-level outputs, appended in input order when recorded (core/collect.ts). */
  readonly rows?: StagedRows;
}

/** One input while its round is processed. */
interface Item {
  readonly task: InputTask;
  readonly session: Session;
  readonly started: number;
  image?: Image;
  /** What the source stage (and the fused chain) gave: which stages the chain replaced. */
  loaded?: Loaded;
  failed?: CodedError & { readonly stage: string };
  /** Every tensor the input's images held: given back to the pool when the input is finished. */
  readonly tensors: Float32Array[];
}

/** Reusable read buffers, one per input of a round (a fresh buffer per file costs more than the read). */
export class ReadBuffers {
  #slabs: Uint8Array[] = [];

  /**
   * Reads the whole file into slot `slot`; returns a view of its bytes. Reads until the end of the file (no
   * `fstat`: under Deno a stat builds a large object, ~10-20 µs per input), growing the slot's buffer when a
   * file fills it.
   */
  read(path: string, slot: number): Uint8Array {
    const fd = openSync(path, "r");
    try {
      let slab = this.#slabs[slot] ??= new Uint8Array(1 << 16);
      let at = 0;
      for (;;) {
        if (at === slab.length) {
          const grown = new Uint8Array(slab.length * 2);
          grown.set(slab);
          slab = this.#slabs[slot] = grown;
        }
        const n = readSync(fd, slab, at, slab.length - at, at);
        if (n === 0) break;
        at += n;
      }
      return slab.subarray(0, at);
    } finally {
      closeSync(fd);
    }
  }
}

const asStageError = (e: unknown, stage: string) => ({ ...toCodedError(e), stage });

/** An image that did not go through the fused chain (a group's volume). */
const NOT_FUSED = {} as Loaded;

/** The CPU path of one plan, for one thread: processes rounds of inputs. */
export class CpuProcessor {
  readonly #fused: FusedChain | undefined;
  readonly #buffers = new ReadBuffers();
  /** Per slot, the fused chain's output when a convex stage reads it (free again once that stage ran). */
  readonly #scratch: Float32Array[] = [];

  constructor(readonly plan: Plan, readonly outDir: string, options: { readonly fuse: boolean }) {
    this.#fused = options.fuse && plan.source.stage.prepare ? FusedChain.of(plan) : undefined;
  }

  /** Inputs per round: the largest `batchSize` of a batching stage, else 1. */
  get roundSize(): number {
    return Math.max(
      1,
      ...this.plan.stages.map((s) => (s.stage.runBatch ? s.stage.batchSize?.(s.params) ?? 1 : 1)),
    );
  }

  /** Processes a round of inputs; one result per task, in order (one Effect run for the whole round). */
  processRound(tasks: ReadonlyArray<InputTask>): Promise<TaskResult[]> {
    return Effect.runPromise(CpuProcessor.#round(this, tasks));
  }

  // The Effect bodies of a round and of an input are generator functions made once (static), not per call:
  // V8 gives every generator function object its own map, kept in the old generation until the next full
  // collection, and that map keeps the function - and every value it closes over - alive through
  // young-generation collections, so a body made per call had each input's objects promoted (README,
  // "Writing a plugin").
  static readonly #round = Effect.fnUntraced(function* (self: CpuProcessor, tasks: ReadonlyArray<InputTask>) {
    const items: Item[] = [];
    for (const [slot, task] of tasks.entries()) items.push(yield* CpuProcessor.#load(self, task, slot));
    for (const [i, s] of self.plan.stages.entries()) {
      const active = items.filter((it) => !it.failed && runsAlone(self.#fused, it.loaded ?? NOT_FUSED, i));
      if (active.length === 0) continue;
      const outcomes = yield* runStageOnCpu(
        self.plan,
        s,
        active.map((it) => it.image!),
        active.map((it) => it.session),
      );
      active.forEach((it, k) => {
        const o = outcomes[k];
        if (!o.ok) it.failed = asStageError(o.error, s.label);
        else it.image = self.#afterStage(it, i, o.image);
      });
    }
    return items.map((it) => self.#finish(it));
  });

  /** The image after stage `i`: hoisted steps settled after the convex stage, scratch memory never kept. */
  #afterStage(it: Item, i: number, image: Image): Image {
    it.tensors.push(image.data);
    const settled = afterStage(this.#fused, it.loaded ?? NOT_FUSED, i, image);
    const scratch = this.#scratch.find((b) => b.buffer === settled.data.buffer);
    return scratch ? { ...settled, data: settled.data.slice() } : settled;
  }

  /** Reads an input and runs its source stage (and the fused chain when the plan has one). */
  static readonly #load = Effect.fnUntraced(function* (self: CpuProcessor, task: InputTask, slot: number) {
    const started = performance.now();
    const session = makeSession({ path: task.path, outputBase: task.outputBase }, self.outDir);
    const item: Item = { task, session, started, tensors: [] };
    const plan = self.plan;
    if (task.group) {
      const group = Effect.map(runGroupInput(plan, task.group), (image): Loaded => ({ image }));
      return self.#settle(item, yield* Effect.exit(group.pipe(providePlugins(plan))));
    }
    let bytes: Uint8Array;
    try {
      bytes = self.#buffers.read(task.path, slot);
    } catch (e) {
      const message = `cannot read ${task.path}: ${e instanceof Error ? e.message : String(e)}`;
      item.failed = { code: "READ_ERROR", message, stage: plan.source.label };
      return item;
    }
    const file = { path: task.path, bytes };
    const loaded = loadSource(plan, self.#fused, file, (u) => self.#scratchFor(slot, u));
    return self.#settle(item, yield* Effect.exit(loaded.pipe(providePlugins(plan))));
  });

  /** An item after its source stage: its image, or its failure at the source (or the chain's step). */
  #settle(item: Item, exit: Exit.Exit<Loaded, unknown>): Item {
    if (Exit.isFailure(exit)) {
      const e = failureOf(exit.cause);
      return e instanceof ChainFailure
        ? this.#fail(item, e.error, e.stage)
        : this.#fail(item, e, this.plan.source.label);
    }
    const loaded = exit.value;
    item.image = loaded.image;
    item.loaded = loaded;
    item.tensors.push(loaded.image.data);
    return item;
  }

  /** The slot's scratch buffer, grown to the upload's size, when the chain's output may live there. */
  #scratchFor(slot: number, upload: Upload): Float32Array | undefined {
    if (!this.#fused?.shape.feedsConvex || upload.pixels.type !== "raw") return undefined;
    const [frames, , rows, cols] = upload.image.shape;
    const needed = frames * 3 * rows * cols; // room for gray widened to RGB
    if ((this.#scratch[slot]?.length ?? 0) < needed) this.#scratch[slot] = new Float32Array(needed);
    return this.#scratch[slot];
  }

  #fail(item: Item, error: unknown, stage: string): Item {
    item.failed = asStageError(error, stage);
    return item;
  }

  /** The result of an input: its staged outputs, or its error (outputs removed). */
  #finish(it: Item): TaskResult {
    const ms = Math.round(performance.now() - it.started);
    const base = { index: it.task.index, input: it.task.path, ms, ...groupInfo(it.task.group) };
    if (it.failed) {
      discardStaged(it.session.staged());
      recycleTensors(it.tensors);
      return { ...base, error: it.failed };
    }
    const predictions = attachPredictions(this.plan.stages, it.image!).predictions;
    recycleTensors(it.tensors);
    const rows = it.session.rows(); // [collect]
    const warnings = entryWarnings(base.warnings, it.image);
    return {
      ...base,
      ...(warnings.length > 0 ? { warnings } : {}),
      staged: it.session.staged(),
      ...(predictions ? { predictions } : {}),
      ...(rows.length > 0 ? { rows } : {}),
    };
  }
}
