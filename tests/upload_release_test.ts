/**
 * `Upload.release`: the CPU path frees an upload's own memory once it has read it (decode's codec output),
 * and never memory the image it gives still is (floats handed on as they are).
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readHeader } from "../dicom/mod.ts";
import { builtinStages } from "../plugins/mod.ts";
import { FusedChain, loadSource } from "../core/cpu/fused.ts";
import { planText } from "../core/api.ts";
import { providePlugins } from "../core/planner.ts";
import { makeRegistry } from "../core/registry.ts";
import { defineStage, type Upload } from "../plugin.ts";

/** A CT header (rescale reads its Modality LUT). */
const META = readHeader(
  new Uint8Array(readFileSync(new URL("./fixtures/dicom/unsigned16_rescale.dcm", import.meta.url))),
);

/** A source stage whose uploads record their release. */
const spySource = (pixels: (n: number) => Upload["pixels"], released: string[]) =>
  defineStage({
    name: "spy-source",
    description: "test source",
    params: Schema.Struct({}),
    accepts: "file",
    produces: "stored",
    run: () => Effect.die("not used"),
    prepare: (file) => {
      const shape = [1, 1, 4, 4] as const;
      return Effect.succeed({
        image: { kind: "stored", shape, meta: META, notes: {} },
        pixels: pixels(16),
        release: () => void released.push(file.path),
      } as unknown as Upload);
    },
  });

const words = (n: number): Upload["pixels"] => ({
  type: "raw",
  bytes: new Uint8Array(new Uint16Array(n).fill(7).buffer),
  bitsAllocated: 16,
  bitsStored: 12,
  shift: 0,
  signed: false,
  byteSwap: false,
  planar: 1,
});
const floats = (n: number): Upload["pixels"] => ({ type: "f32", data: new Float32Array(n).fill(7) });

const load = async (pixels: (n: number) => Upload["pixels"], stages: string) => {
  const released: string[] = [];
  const registry = makeRegistry([...builtinStages, spySource(pixels, released)]);
  const text =
    `dcmflow: 1\nstages:\n  - use: spy-source\n${stages}  - use: write\n    with: { format: npy }\n`;
  const plan = await Effect.runPromise(planText(text, "t.yaml", { registry }));
  const loaded = await Effect.runPromise(
    loadSource(plan, FusedChain.of(plan), { path: "in.dcm", bytes: new Uint8Array() }).pipe(
      providePlugins(plan),
    ),
  );
  return { loaded, released };
};

Deno.test("Upload.release: called once the chain has read the words (lookup, and straight into a resize)", async () => {
  const rescale = "  - use: rescale\n";
  const resize = "  - use: resize\n    with: { width: 2, height: 2 }\n";
  for (const stages of [rescale, rescale + resize, resize]) {
    const { loaded, released } = await load(words, stages);
    assert.deepEqual(released, ["in.dcm"], stages);
    assert.ok(loaded.image.data.length > 0);
  }
});

Deno.test("Upload.release: not called when the image is the upload's own floats", async () => {
  const { loaded, released } = await load(floats, "");
  assert.deepEqual(released, []);
  assert.equal(loaded.image.data[0], 7);
  const looked = await load(floats, "  - use: rescale\n");
  assert.deepEqual(looked.released, ["in.dcm"], "mapped into new memory: the floats are freed");
});
