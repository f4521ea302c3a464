/**
 * resizePlanes against torchvision reference outputs made by tests/fixtures/make_fixtures.py.
 */
import assert from "node:assert/strict";
import { type ResizeFilter, resizePlanes } from "../plugins/resize/cpu.ts";
import { decodeNpy } from "../core/npy.ts";

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
