/**
 * How a plan's stages run on the GPU, decided once per plan and device: runs of consecutive elementwise
 * stages become one fused kernel each, stages with a kernel form run their kernels, the rest run on the
 * CPU (with a readback before them).
 *
 * @module
 */
import type { Plan, PlannedStage } from "../planner.ts";
import type { AnyImageStage, Elementwise, KernelGpu } from "../stage.ts";
import type { GpuShape } from "./device.ts";
import type { FusedStep } from "./fuse.ts";

/** A planned image stage. */
export type Placed = PlannedStage<AnyImageStage>;

/** A fused step with the stage it comes from. */
export interface ChainStep extends FusedStep {
  readonly stage: AnyImageStage;
}

/** One step of the GPU path. `index` is the first stage's position in `plan.stages`. */
export type Segment =
  | { readonly kind: "fused"; readonly index: number; readonly steps: ReadonlyArray<ChainStep> }
  | {
    readonly kind: "kernel";
    readonly index: number;
    readonly placed: Placed;
    readonly gpu: KernelGpu<unknown>;
  }
  | { readonly kind: "cpu"; readonly index: number; readonly placed: Placed };

/** The stage's elementwise form, when it applies to these params and is enabled on this device. */
export const elementwiseForm = (s: Placed, gpu: GpuShape): Elementwise<unknown> | undefined =>
  s.stage.elementwise && (s.stage.elementwise.applies?.(s.params) ?? true) &&
    (s.stage.elementwise.enabled?.(s.params, gpu) ?? true)
    ? (s.stage.elementwise as Elementwise<unknown>)
    : undefined;

/** The stage's kernel form, when it is enabled for these params on this device. */
export const kernelForm = (s: Placed, gpu: GpuShape): KernelGpu<unknown> | undefined =>
  s.stage.gpu?.kind === "kernel" && (s.stage.gpu.enabled?.(s.params, gpu) ?? true)
    ? (s.stage.gpu as KernelGpu<unknown>)
    : undefined;

/** The fused step of an elementwise stage. */
export const fusedStep = (plan: Plan, s: Placed, form: Elementwise<unknown>): ChainStep => ({
  stage: s.stage,
  label: s.label,
  gpu: form,
  params: s.params,
  origin: plan.registry.stages.get(s.stage.name)?.origin ?? "built-in",
});

/**
 * The segments of `plan` on `gpu`. With `fuse`, consecutive elementwise stages share one kernel; a stage
 * that may change the channel count ends a chain (the kernel gives only the last step output channels).
 */
export const planSegments = (plan: Plan, gpu: GpuShape, fuse: boolean): ReadonlyArray<Segment> => {
  const segments: Segment[] = [];
  const stages = plan.stages;
  for (let i = 0; i < stages.length;) {
    const s = stages[i];
    const ew = elementwiseForm(s, gpu);
    if (ew) {
      const steps = [fusedStep(plan, s, ew)];
      let j = i + 1;
      while (fuse && j < stages.length && !steps[steps.length - 1].gpu.channels) {
        const next = elementwiseForm(stages[j], gpu);
        if (!next) break;
        steps.push(fusedStep(plan, stages[j], next));
        j++;
      }
      segments.push({ kind: "fused", index: i, steps });
      i = j;
      continue;
    }
    const kg = kernelForm(s, gpu);
    segments.push(
      kg ? { kind: "kernel", index: i, placed: s, gpu: kg } : { kind: "cpu", index: i, placed: s },
    );
    i++;
  }
  return segments;
};
