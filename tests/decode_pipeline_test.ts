/**
 * decode -> rescale -> window against pydicom, for native and compressed syntaxes and every LUT kind, and a
 * run over a folder of good and broken files (each broken one a coded ledger entry, the others written).
 *
 * `X.window.npy` (tests/fixtures/dicom/make_dicom_fixtures.py) is pydicom's `apply_modality_lut` +
 * `apply_voi_lut` (window 0 or VOI LUT 0; MONOCHROME1 / INVERSE inverted) on the reference stored values,
 * scaled to [0, 1] — the window stage's default output range.
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { planText, processBytes, runPipelinePromise } from "../mod.ts";
import { decodeNpy } from "../core/npy.ts";
import { runCli, tempDir } from "./helpers.ts";

const DIR = new URL("./fixtures/dicom/", import.meta.url);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, DIR)));

const CHAIN = `dcmflow: 1
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { from: dicom }
`;

/** Fixture -> largest allowed difference in [0, 1] units. */
const WINDOWED: ReadonlyArray<readonly [string, number]> = [
  ["unsigned16_rescale.dcm", 1e-6], // RescaleSlope 0.5, LINEAR_EXACT, 3 windows with explanations
  ["mono1_8bit.dcm", 1e-6], // MONOCHROME1: inverted after the VOI function
  ["voi_lut.dcm", 1e-6], // VOI LUT Sequence preferred by `from: dicom`
  ["modality_lut_window.dcm", 1e-6], // Modality LUT Sequence, then a window
  ["presentation_inverse.dcm", 1e-6], // SIGMOID, multi-valued window, Presentation LUT Shape INVERSE
  ["implicit_le.dcm", 1e-6],
  ["rle_16bit_signed.dcm", 1e-6],
  ["jpeg_extended_12bit.dcm", 1e-6],
  ["jpeg_lossless_sv1.dcm", 1e-6],
  ["jpegls_lossless_signed.dcm", 1e-6],
  ["j2k_lossless.dcm", 1e-6],
  ["j2k_lossy.dcm", 1e-6],
  ["j2k_unsigned_codestream_signed_pixels.dcm", 1e-6],
  ["htj2k_lossless.dcm", 1e-6],
  ["htj2k_rpcl.dcm", 1e-6],
  // stored values may differ by 1 (OpenJPH vs OpenJPEG 9/7 rounding): 1 / (width - 1) = 1 / 399
  ["htj2k_lossy.dcm", 1 / 399 + 1e-6],
];

const plan = await Effect.runPromise(planText(CHAIN, "chain.yaml"));

for (const [name, tolerance] of WINDOWED) {
  Deno.test(`decode -> rescale -> window ${name} equals pydicom`, async () => {
    const { image } = await Effect.runPromise(processBytes(plan, read(name)));
    const ref = decodeNpy(read(name.replace(/\.dcm$/, ".window.npy")));
    assert.deepEqual([...image.shape], ref.shape);
    let worst = 0;
    for (let i = 0; i < image.data.length; i++) {
      worst = Math.max(worst, Math.abs(image.data[i] - Number(ref.data[i])));
    }
    assert.ok(worst <= tolerance, `largest difference ${worst}`);
  });
}

Deno.test("window from: dicom picks the VOI LUT Sequence over windows, and `which` picks among several", async () => {
  const lut1 = await Effect.runPromise(
    planText(CHAIN.replace("{ from: dicom }", "{ from: dicom, which: 1 }"), "c.yaml"),
  );
  const { image } = await Effect.runPromise(processBytes(lut1, read("voi_lut.dcm")));
  const win = image.notes.window as { source: string; explanation?: string };
  assert.equal(win.source, "dicom VOI LUT[1]");
  assert.equal(win.explanation, "FULL RANGE");
  const wide = await Effect.runPromise(processBytes(lut1, read("presentation_inverse.dcm")));
  const w = wide.image.notes.window as { center: number; width: number; function: string; inverted: boolean };
  assert.deepEqual([w.center, w.width, w.function, w.inverted], [1000, 3000, "sigmoid", true]);
});

Deno.test("colour images reach later stages as 3 RGB channels; decode records codec and colour model", async () => {
  const rgbPlan = await Effect.runPromise(
    planText("dcmflow: 1\nstages:\n  - use: decode\n  - use: rescale\n", "c.yaml"),
  );
  for (const name of ["jpeg_baseline_ybr422.dcm", "palette_8bit.dcm", "j2k_ybr_rct.dcm"]) {
    const { image } = await Effect.runPromise(processBytes(rgbPlan, read(name)));
    assert.equal(image.shape[1], 3, name);
    const decode = image.notes.decode as { codec: string; colour?: string; transferSyntax: string };
    assert.ok(decode.codec.length > 5 && decode.colour?.includes("-> RGB"), name);
  }
});

Deno.test("a folder of good and broken files: every broken one is a coded ledger entry, the rest are written", async () => {
  const root = tempDir();
  const input = join(root, "in");
  mkdirSync(input);
  const good = ["jpeg_extended_12bit.dcm", "jpegls_near_lossless.dcm", "htj2k_rpcl.dcm", "rle_32bit.dcm"];
  const broken: Record<string, string> = {
    "broken_jpeg12_cut_short.dcm": "TRUNCATED",
    "broken_wrong_syntax_jpeg_as_jpegls.dcm": "INVALID_DICOM",
    "broken_truncated_in_fragment.dcm": "TRUNCATED",
    "broken_j2k_cut_short.dcm": "TRUNCATED",
    "empty.dcm": "NOT_DICOM",
    "not_dicom.dcm": "NOT_DICOM",
  };
  for (const f of [...good, ...Object.keys(broken)]) copyFileSync(new URL(f, DIR), join(input, f));
  const pipeline = join(root, "p.yaml");
  const chain = CHAIN.replace("{ from: dicom }", "{ center: 1000, width: 2000 }");
  writeFileSync(pipeline, `${chain}  - use: write\n    with: { format: npy }\n`);
  const out = join(root, "out");
  const ledger = await runPipelinePromise(pipeline, { inputs: [input], out });
  assert.equal(ledger.inputs.length, good.length + Object.keys(broken).length);
  for (const entry of ledger.inputs) {
    const name = entry.input.split(/[\\/]/).pop()!;
    if (good.includes(name)) {
      assert.equal(entry.status, "ok", `${name}: ${entry.error?.message}`);
      assert.ok(existsSync(join(out, name.replace(/\.dcm$/, ".npy"))), name);
    } else {
      assert.equal(entry.status, "error", name);
      assert.equal(entry.error?.code, broken[name], `${name}: ${entry.error?.message}`);
      assert.ok(!existsSync(join(out, name.replace(/\.dcm$/, ".npy"))), `${name}: no partial output`);
    }
  }
});

Deno.test("dcmflow inspect names the syntax, the codec that would decode it, the colour model and the LUTs", async () => {
  const j12 = await runCli(["inspect", "tests/fixtures/dicom/jpeg_extended_12bit.dcm"]);
  assert.equal(j12.code, 0, j12.stderr);
  assert.match(
    j12.stdout,
    /transfer syntax\s+JPEG Extended \(Process 2 & 4\) \(1\.2\.840\.10008\.1\.2\.4\.51\)/,
  );
  assert.match(j12.stdout, /codec\s+built-in 8\/12-bit sequential DCT JPEG decoder/);
  assert.match(j12.stdout, /geometry\s+1 frame\(s\) x 48 rows x 64 cols/);
  assert.match(j12.stdout, /bits\s+allocated 16, stored 12, high bit 11, unsigned/);
  const ybr = await runCli(["inspect", "tests/fixtures/dicom/htj2k_ybr_rct.dcm"]);
  assert.match(ybr.stdout, /codec\s+OpenJPH/);
  assert.match(ybr.stdout, /photometric\s+YBR_RCT \(decoded as RGB\)/);
  const palette = await runCli(["inspect", "tests/fixtures/dicom/palette_segmented.dcm"]);
  assert.match(palette.stdout, /palette LUT\s+4096 entries from 0, 16-bit, segmented/);
  const luts = await runCli(["inspect", "tests/fixtures/dicom/voi_lut.dcm"]);
  assert.match(
    luts.stdout,
    /VOI LUT sequence\s+\[0\] 4096 entries from 0, 12-bit \(LINEAR RAMP\); \[1\] 65536/,
  );
  const modality = await runCli(["inspect", "tests/fixtures/dicom/modality_lut.dcm"]);
  assert.match(modality.stdout, /modality LUT\s+LUT sequence: 256 entries from -128, 12-bit \(TEST HU LUT\)/);
  const json = await runCli(["inspect", "--json", "tests/fixtures/dicom/jpegls_multiframe_bot.dcm"]);
  const meta = JSON.parse(json.stdout);
  assert.equal(meta.transferSyntax, "JPEG-LS Lossless Image Compression");
  assert.match(meta.codec, /CharLS/);
  assert.equal(meta.frames, 3);
});

Deno.test("what the reader read past reaches the input's ledger entry as warnings, on every path", async () => {
  const root = tempDir();
  const input = join(root, "in");
  mkdirSync(input);
  copyFileSync(new URL("warnings_duplicate_and_damaged.dcm", DIR), join(input, "warned.dcm"));
  copyFileSync(new URL("implicit_le.dcm", DIR), join(input, "clean.dcm"));
  const pipeline = join(root, "p.yaml");
  writeFileSync(
    pipeline,
    `${CHAIN.replace("{ from: dicom }", "{ center: 40, width: 400 }")}  - use: write
    with: { format: npy }
`,
  );
  const paths = [
    { name: "fused, this thread", options: { workers: 0 } },
    { name: "unfused", options: { workers: 0, fuse: false } },
    { name: "a worker", options: { workers: 1 } },
    { name: "GPU", options: { device: "gpu" as const } },
  ];
  for (const { name, options } of paths) {
    const ledger = await runPipelinePromise(pipeline, { inputs: [input], out: join(root, name), ...options });
    const [clean, warned] = ledger.inputs;
    assert.equal(clean.warnings, undefined, name);
    assert.equal(warned.status, "ok", name);
    assert.deepEqual(
      warned.warnings?.map((w) => w.replace(/byte \d+/g, "byte N").slice(0, 50)),
      [
        "decode: (0008,0060) Modality appears twice in the ",
        "decode: private (0009,1001) at byte N has VR UL, w",
      ],
      name,
    );
  }
});
