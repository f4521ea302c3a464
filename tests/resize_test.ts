/**
 * resizePlanes against torchvision reference outputs made by tests/fixtures/make_fixtures.py; the WebAssembly
 * SIMD path against the JS passes (Deno here, Bun in a subprocess); the committed wasm bytes against the .wat.
 */
import assert from "node:assert/strict";
import {
  axisTable,
  cachedAxisTable,
  type ResizeFilter,
  resizePlanes,
  resizePlanesJs,
} from "../plugins/resize/cpu.ts";
import { simdAvailable } from "../plugins/resize/cpu_simd.ts";
import { RESIZE_SIMD_WASM_BASE64 } from "../plugins/resize/resize_simd.wasm.ts";
import { assembleResizeWat } from "../plugins/resize/build_wasm.ts";
import { decodeNpy } from "../core/npy.ts";
import { findBun, maxAbsDiff } from "./helpers.ts";

const DIR = new URL("./fixtures/resize/", import.meta.url);
const TOLERANCE = 2e-5;

interface ResizeCase {
  name: string;
  outH: number;
  outW: number;
  filter: ResizeFilter;
  antialias: boolean;
}

const manifest = JSON.parse(Deno.readTextFileSync(new URL("cases.json", DIR))) as {
  torch: string;
  torchvision: string;
  cases: ResizeCase[];
};

function loadF32(file: string): { shape: number[]; data: Float32Array } {
  const { shape, data } = decodeNpy(Deno.readFileSync(new URL(file, DIR)));
  assert.ok(data instanceof Float32Array, `${file}: expected float32 data`);
  return { shape, data };
}

for (const c of manifest.cases) {
  Deno.test(`resizePlanes ${c.name} matches torchvision ${manifest.torchvision}`, () => {
    const input = loadF32(`${c.name}.input.npy`);
    const expected = loadF32(`${c.name}.expected.npy`);
    assert.equal(input.shape.length, 3);
    const [planes, rows, cols] = input.shape;
    assert.deepEqual(expected.shape, [planes, c.outH, c.outW]);

    const out = resizePlanes(input.data, planes, rows, cols, c.outH, c.outW, c.filter, c.antialias);
    assert.equal(out.length, expected.data.length);
    let maxDiff = 0;
    let at = 0;
    for (let i = 0; i < out.length; i++) {
      const d = Math.abs(out[i] - expected.data[i]);
      if (!(d <= maxDiff)) {
        maxDiff = d;
        at = i;
      }
    }
    const msg = `${c.name}: max abs diff ${maxDiff.toExponential(3)} at index ${at} ` +
      `(got ${out[at]}, expected ${expected.data[at]}), tolerance ${TOLERANCE}`;
    if (Deno.env.get("RESIZE_REPORT")) console.log(msg);
    assert.ok(maxDiff <= TOLERANCE, msg);
  });
}

Deno.test("resizePlanes: identity size returns a copy", () => {
  const src = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i / 24);
  for (const filter of ["bilinear", "nearest"] as const) {
    const out = resizePlanes(src, 2, 3, 4, 3, 4, filter, true);
    assert.deepEqual(Array.from(out), Array.from(src));
    assert.notEqual(out, src);
  }
});

Deno.test("resizePlanes: constant planes stay constant", () => {
  const src = new Float32Array(2 * 37 * 29);
  src.fill(0.25, 0, 37 * 29);
  src.fill(0.75, 37 * 29);
  for (const [filter, aa] of [["bilinear", true], ["bilinear", false], ["nearest", false]] as const) {
    for (const [oh, ow] of [[11, 13], [80, 64], [20, 100]]) {
      const out = resizePlanes(src, 2, 37, 29, oh, ow, filter, aa);
      for (let i = 0; i < out.length; i++) {
        const want = i < oh * ow ? 0.25 : 0.75;
        assert.ok(Math.abs(out[i] - want) < 1e-6, `${filter}/${aa} ${oh}x${ow}[${i}] = ${out[i]}`);
      }
    }
  }
});

Deno.test("resizePlanes: rejects bad sizes", () => {
  assert.throws(() => resizePlanes(new Float32Array(4), 1, 2, 2, 0, 2, "bilinear", true), RangeError);
  assert.throws(() => resizePlanes(new Float32Array(3), 1, 2, 2, 1, 1, "nearest", false), RangeError);
});

/** Deterministic data in [-0.5, 1.5) (a small LCG), so failures reproduce. */
function randomPlanes(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x / 2 ** 32 * 2 - 0.5;
  }
  return out;
}

/** [planes, rows, cols, outRows, outCols]: down, up, mixed, odd sizes, cols % 4 != 0, rows not a multiple
 * of the 16-row strips, fewer rows than a strip, one axis kept, one-pixel edges, planes > 1. */
const SIZE_CASES: ReadonlyArray<readonly [number, number, number, number, number]> = [
  [1, 512, 512, 224, 224],
  [2, 64, 64, 32, 32],
  [1, 37, 29, 11, 13],
  [3, 37, 29, 80, 64],
  [1, 20, 100, 37, 9],
  [2, 100, 20, 9, 37],
  [1, 15, 7, 31, 3],
  [1, 17, 33, 17, 50],
  [4, 33, 17, 50, 17],
  [1, 1, 1, 5, 3],
  [1, 6, 9, 1, 1],
  [1, 3, 130, 2, 65],
  [6, 48, 48, 224, 224],
  [1, 300, 260, 224, 200],
];

const FILTERS: ReadonlyArray<readonly [ResizeFilter, boolean]> = [
  ["bilinear", true],
  ["bilinear", false],
  ["nearest", false],
];

Deno.test("resizePlanes: the WebAssembly SIMD path is available here (so the next tests compare two paths)", () => {
  assert.ok(simdAvailable(), "WebAssembly SIMD did not validate: resizePlanes falls back to the JS passes");
});

Deno.test("resizePlanes (SIMD) equals resizePlanesJs within 1e-6, nearest exactly", () => {
  let seed = 1;
  for (const [planes, rows, cols, outRows, outCols] of SIZE_CASES) {
    const src = randomPlanes(planes * rows * cols, seed++);
    for (const [filter, aa] of FILTERS) {
      const got = resizePlanes(src, planes, rows, cols, outRows, outCols, filter, aa);
      const want = resizePlanesJs(src, planes, rows, cols, outRows, outCols, filter, aa);
      assert.equal(got.length, planes * outRows * outCols);
      const d = maxAbsDiff(got, want);
      const what = `${planes}x${rows}x${cols} -> ${outRows}x${outCols} ${filter} antialias=${aa}`;
      assert.ok(d <= (filter === "nearest" ? 0 : 1e-6), `${what}: max abs diff ${d}`);
    }
  }
});

Deno.test("resizePlanes (SIMD): a longer src, alternating sizes and a grown memory give the JS results", () => {
  // Small, big (the module's memory grows), small again: tables and buffers are re-laid each time.
  const cases = [[40, 30, 20, 15], [1200, 1000, 300, 500], [40, 30, 20, 15], [30, 40, 15, 20]] as const;
  for (const [rows, cols, outRows, outCols] of cases) {
    const src = randomPlanes(rows * cols + 7, rows);
    const got = resizePlanes(src, 1, rows, cols, outRows, outCols, "bilinear", true);
    const want = resizePlanesJs(src, 1, rows, cols, outRows, outCols, "bilinear", true);
    assert.ok(maxAbsDiff(got, want) <= 1e-6, `${rows}x${cols} -> ${outRows}x${outCols}`);
  }
});

Deno.test("cachedAxisTable: one table per (in, out, filter, antialias), equal to axisTable", () => {
  const a = cachedAxisTable(512, 224, "bilinear", true);
  assert.equal(cachedAxisTable(512, 224, "bilinear", true), a);
  assert.notEqual(cachedAxisTable(512, 224, "bilinear", false), a);
  assert.deepEqual(a, axisTable(512, 224, "bilinear", true));
});

Deno.test("resize_simd.wasm.ts holds exactly resize_simd.wat assembled (run `deno task build:wasm`)", async () => {
  const committed = Uint8Array.from(atob(RESIZE_SIMD_WASM_BASE64), (c) => c.charCodeAt(0));
  const built = await assembleResizeWat();
  assert.ok(
    committed.length === built.length && committed.every((b, i) => b === built[i]),
    "plugins/resize/resize_simd.wasm.ts is stale: run `deno task build:wasm`",
  );
});

Deno.test("resizePlanes falls back to the JS passes where WebAssembly SIMD is missing", async () => {
  // V8 without SSE4.1 has no WebAssembly SIMD: the module does not validate, resizePlanes runs the JS passes.
  const cpu = new URL("../plugins/resize/cpu.ts", import.meta.url).href;
  const simd = new URL("../plugins/resize/cpu_simd.ts", import.meta.url).href;
  const script = `
    import { resizePlanes, resizePlanesJs } from "${cpu}";
    import { simdAvailable } from "${simd}";
    const src = Float32Array.from({ length: 2 * 37 * 53 }, (_, i) => Math.sin(i));
    const a = resizePlanes(src, 2, 37, 53, 11, 19, "bilinear", true);
    const b = resizePlanesJs(src, 2, 37, 53, 11, 19, "bilinear", true);
    console.log(JSON.stringify({ simd: simdAvailable(), same: a.every((x, i) => Object.is(x, b[i])) }));
  `;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--no-enable-sse4-1", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const got = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!);
  assert.deepEqual(got, { simd: false, same: true });
});

Deno.test("bun: the WebAssembly SIMD path is available and equals the JS passes", async () => {
  const bun = findBun();
  assert.ok(bun, "no Bun binary: run `deno install` (bun is a devDependency) or set BUN_BINARY");
  const script = `
    import { resizePlanes, resizePlanesJs } from "./plugins/resize/cpu.ts";
    import { simdAvailable } from "./plugins/resize/cpu_simd.ts";
    const src = Float32Array.from({ length: 2 * 37 * 53 }, (_, i) => Math.sin(i) * 0.5 + 0.5);
    let worst = 0;
    for (const [f, aa] of [["bilinear", true], ["bilinear", false], ["nearest", false]]) {
      for (const [oh, ow] of [[11, 19], [80, 101]]) {
        const a = resizePlanes(src, 2, 37, 53, oh, ow, f, aa);
        const b = resizePlanesJs(src, 2, 37, 53, oh, ow, f, aa);
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      }
    }
    console.log(JSON.stringify({ simd: simdAvailable(), worst }));
  `;
  const r = await new Deno.Command(bun, { args: ["-e", script], stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, stderr);
  const { simd, worst } = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!);
  assert.equal(simd, true, "Bun did not validate the SIMD module");
  assert.ok(worst <= 1e-6, `Bun: SIMD vs JS max abs diff ${worst}`);
});
