/**
 * The codecs under Bun: the CLI decodes every compressed syntax to exactly what Deno decodes (Bun hands
 * files over as Node Buffers, whose `slice()` is a view: the decoder must never rely on it copying). Like
 * bun_test.ts, it fails (never skips) when no Bun binary is found.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planText, processBytes } from "../mod.ts";
import { decodeNpy } from "../core/npy.ts";
import { findBun, tempDir } from "./helpers.ts";

const FIX = "tests/fixtures/dicom";
const FILES = [
  "rle_ybr_full.dcm",
  "jpeg_baseline_ybr422.dcm",
  "jpeg_extended_12bit_odd.dcm",
  "jpeg_lossless_sv1.dcm",
  "jpegls_near_lossless.dcm",
  "j2k_ybr_ict.dcm",
  "htj2k_rpcl.dcm",
  "palette_segmented.dcm",
  "wild_explicit_un.dcm",
  "bits1_multiframe.dcm",
];

const PIPELINE = "dcmflow: 1\nstages:\n  - use: decode\n  - use: write\n    with: { format: npy }\n";

Deno.test("bun: compressed syntaxes, colour models and files in the wild decode as under Deno", async () => {
  const bun = findBun();
  assert.ok(
    bun,
    "no Bun binary: run `npx --yes deno@2.9.6 install` (bun is a devDependency) or set BUN_BINARY",
  );
  const dir = tempDir();
  const pipeline = join(dir, "decode.yaml");
  writeFileSync(pipeline, PIPELINE);
  const out = join(dir, "out");
  const args = [
    "cli.ts",
    "run",
    pipeline,
    ...FILES.flatMap((f) => ["--input", join(FIX, f)]),
    "--out",
    out,
    "--device",
    "cpu",
  ];
  const r = await new Deno.Command(bun, { args, stdout: "piped", stderr: "piped" }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const plan = await Effect.runPromise(planText(PIPELINE, "decode.yaml"));
  for (const f of FILES) {
    const fromBun = decodeNpy(new Uint8Array(readFileSync(join(out, f.replace(/\.dcm$/, ".npy")))));
    const { image } = await Effect.runPromise(processBytes(plan, new Uint8Array(readFileSync(join(FIX, f)))));
    assert.deepEqual(fromBun.shape, [...image.shape], f);
    assert.deepEqual(Array.from(fromBun.data as Float32Array), Array.from(image.data), f);
  }
});
