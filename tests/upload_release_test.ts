/**
 * `Upload.owned`: the CPU path frees an owned upload's pixels once it has read them (decode's codec output),
 * never memory the image it gives still is (floats handed on as they are), and never pixels it does not own.
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

/** A source stage whose uploads (owned or not) are recorded. */
const spySource = (pixels: (n: number) => Upload["pixels"], owned: boolean, made: Upload[]) =>
  defineStage({
    name: "spy-source",
    description: "test source",
    params: Schema.Struct({}),
    accepts: "file",
    produces: "stored",
    run: () => Effect.die("not used"),
    prepare: () => {
      const shape = [1, 1, 4, 4] as const;
      const upload = {
        image: { kind: "stored", shape, meta: META, notes: {} },
        pixels: pixels(16),
        ...(owned ? { owned: true } : {}),
      } as unknown as Upload;
      made.push(upload);
      return Effect.succeed(upload);
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

/** Whether an upload's pixel memory was freed (its buffer detached). */
const freed = (upload: Upload) =>
  (upload.pixels.type === "raw" ? upload.pixels.bytes : upload.pixels.data).buffer.byteLength === 0;

const load = async (pixels: (n: number) => Upload["pixels"], stages: string, owned = true) => {
  const made: Upload[] = [];
  const registry = makeRegistry([...builtinStages, spySource(pixels, owned, made)]);
  const text =
    `dcmflow: 1\nstages:\n  - use: spy-source\n${stages}  - use: write\n    with: { format: npy }\n`;
  const plan = await Effect.runPromise(planText(text, "t.yaml", { registry }));
  const loaded = await Effect.runPromise(
    loadSource(plan, FusedChain.of(plan), { path: "in.dcm", bytes: new Uint8Array() }).pipe(
      providePlugins(plan),
    ),
  );
  assert.equal(made.length, 1);
  return { loaded, freed: freed(made[0]) };
};

Deno.test("Upload.owned: freed once the chain has read the words (lookup, and straight into a resize)", async () => {
  const rescale = "  - use: rescale\n";
  const resize = "  - use: resize\n    with: { width: 2, height: 2 }\n";
  for (const stages of [rescale, rescale + resize, resize]) {
    const { loaded, freed } = await load(words, stages);
    assert.ok(freed, stages);
    assert.ok(loaded.image.data.length > 0);
    assert.equal((await load(words, stages, false)).freed, false, `${stages}: not owned, not freed`);
  }
});

Deno.test("Upload.owned: not freed when the image is the upload's own floats", async () => {
  const { loaded, freed } = await load(floats, "");
  assert.equal(freed, false);
  assert.equal(loaded.image.data[0], 7);
  const looked = await load(floats, "  - use: rescale\n");
  assert.ok(looked.freed, "mapped into new memory: the floats are freed");
});
