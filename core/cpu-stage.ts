/**
 * Running one image stage on the CPU for several inputs: as one `runBatch` call when the stage batches
 * (and there is more than one image), else `run` per image with that input's `Output` service. Shared by
 * the CPU runtime and the GPU executor (for stages without a GPU form).
 *
 * @module
 */
import * as Cause from "effect/Cause";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Result from "effect/Result";
import type { Plan, PlannedStage } from "./planner.ts";
import { providePlugins } from "./planner.ts";
import { imageRun } from "./elementwise.ts";
import { Output } from "./output.ts";
import { attachPredictions } from "./predictions.ts";
import type { Session } from "./session.ts";
import type { AnyImageStage } from "./stage.ts";
import type { Image } from "./tensor.ts";

/** The outcome for one image. */
export type StageOutcome = { readonly ok: true; readonly image: Image } | {
  readonly ok: false;
  readonly error: unknown;
};

/** The failure of an Exit's cause: the typed error, else the defect. */
export const failureOf = (cause: Cause.Cause<unknown>): unknown => {
  const f = Cause.findErrorOption(cause);
  return f._tag === "Some" ? f.value : Cause.squash(cause);
};

/**
 * Runs `s` over `images` (one per session, same order); one outcome per image. (An Effect body made once, not
 * per call: see CpuProcessor in core/run/process.ts.)
 */
export const runStageOnCpu = Effect.fnUntraced(function* (
  plan: Plan,
  s: PlannedStage<AnyImageStage>,
  images: ReadonlyArray<Image>,
  sessions: ReadonlyArray<Session>,
) {
  const before = plan.stages.slice(0, plan.stages.indexOf(s));
  images = images.map((image) => attachPredictions(before, image));
  if (s.stage.runBatch && images.length > 1) {
    const exit = yield* Effect.exit(s.stage.runBatch(images, s.params).pipe(providePlugins(plan)));
    return images.map((_, k): StageOutcome => {
      if (Exit.isFailure(exit)) return { ok: false, error: failureOf(exit.cause) };
      const r = exit.value[k];
      if (!r) return { ok: false, error: new Error(`stage ${s.label} returned no result for image ${k}`) };
      return Result.isSuccess(r) ? { ok: true, image: r.success } : { ok: false, error: r.failure };
    });
  }
  const out: StageOutcome[] = [];
  for (const [k, image] of images.entries()) {
    const exit = yield* Effect.exit(
      imageRun(s.stage)(image, s.params).pipe(
        Effect.provideService(Output, sessions[k].output),
        providePlugins(plan),
      ),
    );
    out.push(
      Exit.isSuccess(exit) ? { ok: true, image: exit.value } : { ok: false, error: failureOf(exit.cause) },
    );
  }
  return out;
});
