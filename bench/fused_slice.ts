/**
 * Per slice, in memory, one thread: the fused CPU path of the seed recipe's front (decode -> rescale ->
 * window -> resize 224 antialias -> normalize) on 512² synthetic CT slices, best of rounds: as a worker
 * thread runs it (source stage, fused chain into reused scratch, the other stages, tensors recycled) and
 * through `processBytes`.
 * Usage: deno run -A bench/fused_slice.ts [--slices N] [--rounds R]
 */
import { Effect } from "effect";
import { planText, processBytes } from "../mod.ts";
import { afterStage, FusedChain, loadSource, runsAlone } from "../core/cpu/fused.ts";
import { imageRun } from "../core/elementwise.ts";
import { providePlugins } from "../core/planner.ts";
import { recycleTensors } from "../core/cpu/tensor_pool.ts";
import type { Image } from "../core/tensor.ts";
import { makeCtSlice } from "./synthetic.ts";
import { numberOption } from "./options.ts";

const SLICES = numberOption("slices", 64);
const ROUNDS = numberOption("rounds", 15);

const PIPELINES: ReadonlyArray<readonly [string, string]> = [
  [
    "decode→rescale→window→resize→normalize",
    `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 40, width: 400, function: linear }
  - use: resize
    with: { width: 224, height: 224, filter: bilinear, antialias: true }
  - use: normalize
    with: { mean: [0.5], std: [0.5] }
`,
  ],
  [
    "decode→rescale→window→resize→normalize RGB",
    `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { preset: lung }
  - use: resize
    with: { width: 224, height: 224 }
  - use: normalize
    with: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 3 }
`,
  ],
  [
    "decode→rescale→window (no resize)",
    `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 40, width: 400, function: linear }
`,
  ],
];

/** One slice as core/run/process.ts runs it (without reading the file or writing outputs). */
const asWorker = (plan: Parameters<typeof loadSource>[0], chain: FusedChain, scratch: Float32Array) =>
(
  bytes: Uint8Array,
) => {
  const loaded = Effect.runSync(
    loadSource(plan, chain, { path: "x.dcm", bytes }, () => scratch).pipe(
      providePlugins(plan),
    ) as Effect.Effect<
      ReturnType<typeof Object>
    >,
  ) as Parameters<typeof runsAlone>[1];
  let image: Image = loaded.image;
  const tensors = [image.data];
  for (const [i, s] of plan.stages.entries()) {
    if (!runsAlone(chain, loaded, i)) continue;
    image = afterStage(
      chain,
      loaded,
      i,
      Effect.runSync(imageRun(s.stage)(image, s.params) as Effect.Effect<Image>),
    );
    if (image.data.buffer !== scratch.buffer) tensors.push(image.data);
  }
  recycleTensors(tensors);
};

const timed = (run: () => void): number => {
  run(); // warm up
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = performance.now();
    run();
    best = Math.min(best, (performance.now() - t0) / SLICES);
  }
  return best;
};

const files = Array.from({ length: SLICES }, (_, i) => makeCtSlice(512, 512, i));
for (const [name, text] of PIPELINES) {
  const plan = await Effect.runPromise(planText(text, "bench.yaml"));
  const chain = FusedChain.of(plan);
  const one = asWorker(plan, chain, new Float32Array(3 * 512 * 512));
  const worker = timed(() => files.forEach(one));
  const bytes = timed(() => files.forEach((b) => Effect.runSync(processBytes(plan, b))));
  console.log(
    `${name}: worker ${worker.toFixed(3)} ms / slice, processBytes ${bytes.toFixed(3)} ms / slice ` +
      `(best of ${ROUNDS}, ${SLICES} slices)`,
  );
}
