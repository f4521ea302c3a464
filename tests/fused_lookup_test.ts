/**
 * The fused CPU chain straight into the resize (`fromLookup`): the stored words looked up inside the resize,
 * the chain's image never made. Every fixture (and synthetic files covering signedness, shifts, BitsStored
 * and 8-bit words) through several pipelines, with the path and with the resize declining it: the same
 * images, headers, files, errors and ledgers, byte for byte; and the path must have run.
 */
import { NodeServices } from "@effect/platform-node";
import { Effect, Result } from "effect";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { makeCtSlice } from "../bench/synthetic.ts";
import { type Ledger, planText, processBytes, runPlan } from "../mod.ts";
import { StageError } from "../core/errors.ts";
import type { Plan } from "../core/planner.ts";
import type { LookupInput } from "../core/stage.ts";
import type { RawPixels } from "../dicom/meta.ts";
import { element, part10, text, us } from "./support/dicom_writer.ts";
import { tempDir } from "./helpers.ts";

const FIXTURES = new URL("./fixtures/dicom/", import.meta.url).pathname;

const PIPELINES: Readonly<Record<string, string>> = {
  seed: `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 40, width: 400, function: linear }
  - use: resize
    with: { width: 224, height: 224, filter: bilinear, antialias: true }
  - use: normalize
    with: { mean: [0.5], std: [0.5] }
  - use: write
    with: { format: npy }
`,
  "lung-rgb": `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { preset: lung }
  - use: resize
    with: { width: 224, height: 224 }
  - use: normalize
    with: { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], channels: 3 }
  - use: write
    with: { format: npy }
`,
  "decode-resize": `dcmflow: 1
stages:
  - use: decode
  - use: resize
    with: { width: 37, height: 29, filter: nearest }
  - use: write
    with: { format: npy }
`,
  "window-upscale-normalize": `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 40, width: 400 }
  - use: resize
    with: { width: 301, height: 257, filter: bilinear, antialias: false }
  - use: normalize
    with: { mean: [0.5], std: [0.25] }
  - use: write
    with: { format: npy }
`,
};

/** What the path saw each time it ran (not declined). */
type Seen = Pick<RawPixels, "bitsAllocated" | "bitsStored" | "shift" | "signed"> & { samples: number };

/** The plan with the resize's `fromLookup` recording the inputs it took, and the plan without it. */
const variants = (plan: Plan, seen: Seen[]): { readonly path: Plan; readonly declined: Plan } => {
  const swap = (f: (s: Plan["stages"][number]) => Plan["stages"][number]): Plan => ({
    ...plan,
    stages: plan.stages.map((s) => (s.stage.fromLookup ? f(s) : s)),
  });
  const path = swap((s) => ({
    ...s,
    stage: {
      ...s.stage,
      fromLookup: (input: LookupInput, params: unknown) => {
        const out = s.stage.fromLookup!(input, params);
        const { bitsAllocated, bitsStored, shift, signed } = input.pixels;
        if (out) seen.push({ bitsAllocated, bitsStored, shift, signed, samples: input.samples });
        return out;
      },
    },
  }));
  const declined = swap((s) => ({ ...s, stage: { ...s.stage, fromLookup: undefined } }));
  return { path, declined };
};

/** A monochrome or planar colour file with the given word layout, garbage in the bits outside BitsStored. */
const synthetic = (
  o: {
    bitsAllocated: 8 | 16;
    bitsStored: number;
    highBit: number;
    signed: boolean;
    samples?: 1 | 3;
    frames?: number;
    rows?: number;
    cols?: number;
  },
  seed: number,
): Uint8Array => {
  const { bitsAllocated, bitsStored, highBit, signed, samples = 1, frames = 1, rows = 45, cols = 61 } = o;
  const n = frames * samples * rows * cols;
  const words = bitsAllocated === 16 ? new Uint16Array(n) : new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    words[i] = x >>> (32 - bitsAllocated);
  }
  const e = (tag: number, vr: string, value: Uint8Array) => element(tag, vr, value);
  const bytes = new Uint8Array(words.buffer);
  return part10("1.2.840.10008.1.2.1", [
    e(0x00080060, "CS", text("CT")),
    e(0x00280002, "US", us(samples)),
    e(0x00280004, "CS", text(samples === 3 ? "RGB" : "MONOCHROME2")),
    ...(samples > 1 ? [e(0x00280006, "US", us(1))] : []),
    ...(frames > 1 ? [e(0x00280008, "IS", text(String(frames), "IS"))] : []),
    e(0x00280010, "US", us(rows)),
    e(0x00280011, "US", us(cols)),
    e(0x00280100, "US", us(bitsAllocated)),
    e(0x00280101, "US", us(bitsStored)),
    e(0x00280102, "US", us(highBit)),
    e(0x00280103, "US", us(signed ? 1 : 0)),
    ...(samples === 1
      ? [e(0x00281052, "DS", text("-1024", "DS")), e(0x00281053, "DS", text("1", "DS"))]
      : []),
    e(0x7fe00010, bitsAllocated === 16 ? "OW" : "OB", bytes.length % 2 ? Uint8Array.of(...bytes, 0) : bytes),
  ]);
};

const SYNTHETIC: ReadonlyArray<readonly [string, Uint8Array]> = [
  ["u16-12", synthetic({ bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: false }, 1)],
  ["s16-16", synthetic({ bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: true }, 2)],
  ["u16-16", synthetic({ bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: false }, 3)],
  ["s16-12-shift", synthetic({ bitsAllocated: 16, bitsStored: 12, highBit: 14, signed: true }, 4)],
  [
    "u16-10-shift",
    synthetic({ bitsAllocated: 16, bitsStored: 10, highBit: 12, signed: false, frames: 3 }, 5),
  ],
  ["u8-8", synthetic({ bitsAllocated: 8, bitsStored: 8, highBit: 7, signed: false }, 6)],
  ["s8-6-shift", synthetic({ bitsAllocated: 8, bitsStored: 6, highBit: 6, signed: true }, 7)],
  ["u8-rgb-planar", synthetic({ bitsAllocated: 8, bitsStored: 8, highBit: 7, signed: false, samples: 3 }, 8)],
  [
    "u16-rgb-planar",
    synthetic({ bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: false, samples: 3 }, 9),
  ],
  ["ct-512", makeCtSlice(512, 512, 0)],
];

/** Every fixture file and the synthetic ones: [name, bytes]. */
const inputs = (): Array<readonly [string, Uint8Array]> => [
  ...readdirSync(FIXTURES).filter((f) => f.endsWith(".dcm")).sort().map((f) =>
    [f, new Uint8Array(readFileSync(join(FIXTURES, f)))] as const
  ),
  ...SYNTHETIC,
];

const sameBytes = (a: Float32Array | Uint8Array, b: Float32Array | Uint8Array): boolean =>
  Buffer.compare(
    new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
    new Uint8Array(b.buffer, b.byteOffset, b.byteLength),
  ) === 0;

const json = (v: unknown) =>
  JSON.stringify(v, (_, x) => (typeof x === "bigint" ? `${x}n` : x instanceof Float32Array ? [...x] : x));

/** processBytes of one file on a plan: the image's data and the rest, or the error. */
const processed = async (plan: Plan, bytes: Uint8Array, name: string) => {
  const r = await Effect.runPromise(Effect.result(processBytes(plan, bytes, name)));
  if (Result.isFailure(r)) return { error: json(r.failure) };
  const { image: { data, ...header }, files, collected } = r.success;
  return { data, header: json(header), files, collected: json([...collected]) };
};

for (const [name, text] of Object.entries(PIPELINES)) {
  Deno.test(`fromLookup (${name}): every fixture gives the same bytes, headers, files and errors`, async () => {
    const seen: Seen[] = [];
    const { path, declined } = variants(await Effect.runPromise(planText(text, `${name}.yaml`)), seen);
    for (const [file, bytes] of inputs()) {
      const a = await processed(path, bytes, file);
      const b = await processed(declined, bytes, file);
      assert.equal(a.error, b.error, `${file}: errors`);
      if (a.error !== undefined) continue;
      assert.equal(a.header, b.header, `${file}: header`);
      assert.ok(sameBytes(a.data!, b.data!), `${file}: image data differs`);
      assert.equal(a.collected, b.collected, `${file}: collected rows`);
      assert.deepEqual([...a.files!.keys()], [...b.files!.keys()], `${file}: files`);
      for (const [k, v] of a.files!) assert.ok(sameBytes(v, b.files!.get(k)!), `${file}: ${k} differs`);
    }
    // The path ran for every kind of words it reads.
    const has = (f: (s: Seen) => boolean, what: string) =>
      assert.ok(seen.some(f), `path never ran for ${what}`);
    has((s) => s.signed, "signed pixels");
    has((s) => !s.signed, "unsigned pixels");
    has((s) => s.shift > 0, "shifted words");
    for (const bits of [8, 12, 16]) has((s) => s.bitsStored === bits, `BitsStored ${bits}`);
    has((s) => s.bitsAllocated === 8, "8-bit words");
    has((s) => s.samples === 3, "planar colour");
  });
}

/** A ledger without what differs between runs: times, output folder. */
const comparable = (ledger: Ledger, out: string) =>
  JSON.parse(
    JSON.stringify({ ...ledger, started: 0, finished: 0 }, (k, v) => (k === "ms" ? 0 : v)).replaceAll(
      out,
      "OUT",
    ),
  );

/** Every file under `dir` with its bytes (the run's own files aside). */
const outputsOf = (dir: string, rel = ""): Array<[string, Uint8Array]> =>
  readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => a.name < b.name ? -1 : 1).flatMap((e) =>
    e.isDirectory()
      ? outputsOf(dir, join(rel, e.name))
      : e.name.startsWith("dcmflow-run.")
      ? []
      : [[join(rel, e.name), new Uint8Array(readFileSync(join(dir, rel, e.name)))] as [string, Uint8Array]]
  );

Deno.test("fromLookup: a run (worker path) writes the same files and ledger as with the stage declining", async () => {
  const dir = tempDir("dcmflow-lookup-in-");
  const pick = readdirSync(FIXTURES).filter((f) => f.endsWith(".dcm")).sort();
  for (const f of pick) writeFileSync(join(dir, f), readFileSync(join(FIXTURES, f)));
  for (const [f, bytes] of SYNTHETIC) writeFileSync(join(dir, `${f}.dcm`), bytes);
  for (const name of ["seed", "lung-rgb"]) {
    const seen: Seen[] = [];
    const { path, declined } = variants(
      await Effect.runPromise(planText(PIPELINES[name], `${name}.yaml`)),
      seen,
    );
    const results: Array<{ ledger: unknown; files: Array<[string, Uint8Array]> }> = [];
    for (const plan of [path, declined]) {
      const out = join(tempDir(), "o");
      const ledger = await Effect.runPromise(
        runPlan(plan, { inputs: [dir], out, device: "cpu", workers: 0, helpWhileStarting: false }).pipe(
          Effect.provide(NodeServices.layer),
        ),
      );
      results.push({ ledger: comparable(ledger, out), files: outputsOf(out) });
    }
    assert.ok(seen.length > 10, `${name}: the path ran ${seen.length} times`);
    assert.deepEqual(results[0].ledger, results[1].ledger, `${name}: ledgers`);
    assert.deepEqual(
      results[0].files.map(([f]) => f),
      results[1].files.map(([f]) => f),
      `${name}: file names`,
    );
    results[0].files.forEach(([f, bytes], k) =>
      assert.ok(sameBytes(bytes, results[1].files[k][1]), `${name}: ${f} differs`)
    );
  }
});

Deno.test("fromLookup: a failure inside it (returned or thrown) is the input's error at the resize stage", async () => {
  const dir = tempDir("dcmflow-lookup-fail-");
  writeFileSync(join(dir, "a.dcm"), makeCtSlice(64, 64, 1));
  const plan = await Effect.runPromise(planText(PIPELINES.seed, "seed.yaml"));
  const at = plan.stages.findIndex((s) => s.stage.fromLookup);
  const failing = (how: "fail" | "throw"): Plan => ({
    ...plan,
    stages: plan.stages.map((s, i) =>
      i !== at ? s : {
        ...s,
        stage: {
          ...s.stage,
          fromLookup: () => {
            if (how === "throw") throw new StageError({ code: "LOOKUP_BROKE", message: "thrown" });
            return Effect.fail(new StageError({ code: "LOOKUP_BROKE", message: "returned" }));
          },
        },
      }
    ),
  });
  for (const how of ["fail", "throw"] as const) {
    const out = join(tempDir(), "o");
    const ledger = await Effect.runPromise(
      runPlan(failing(how), { inputs: [dir], out, device: "cpu", workers: 0, helpWhileStarting: false }).pipe(
        Effect.provide(NodeServices.layer),
      ),
    );
    const error = ledger.inputs[0].error;
    assert.equal(error?.code, "LOOKUP_BROKE", how);
    assert.equal(error?.stage, plan.stages[at].label, how);
    const r = await Effect.runPromise(Effect.result(processBytes(failing(how), makeCtSlice(64, 64, 1))));
    assert.ok(
      Result.isFailure(r) && (r.failure as { code?: string }).code === "LOOKUP_BROKE",
      `${how}: processBytes`,
    );
  }
});
