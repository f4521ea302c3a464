import assert from "node:assert/strict";
import { applyWindow, linear, linearExact, sigmoid } from "../plugins/window/voi.ts";

const r255 = { ymin: 0, ymax: 255 };
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: got ${a}, expected ${b} (tol ${tol})`);

Deno.test("LINEAR matches the standard's worked values (c=40, w=400, [0,255])", () => {
  close(linear(-60, 40, 400, r255), 63.910, 1e-3, "LINEAR(-60)");
  close(linear(40, 40, 400, r255), 127.819, 1e-3, "LINEAR(40)");
  assert.equal(linear(-160, 40, 400, r255), 0);
  assert.equal(linear(240, 40, 400, r255), 255);
  // Just inside / outside the edges: c' - w'/2 = -160 maps to ymin, > c' + w'/2 = 239 to ymax.
  assert.equal(linear(239.5, 40, 400, r255), 255);
  assert.ok(linear(-159.9, 40, 400, r255) > 0);
});

Deno.test("LINEAR_EXACT matches the standard's worked values", () => {
  assert.equal(linearExact(-60, 40, 400, r255), 63.75);
  assert.equal(linearExact(40, 40, 400, r255), 127.5);
  assert.equal(linearExact(-160, 40, 400, r255), 0);
  assert.equal(linearExact(240, 40, 400, r255), 255);
});

Deno.test("SIGMOID is centred and saturates", () => {
  close(sigmoid(40, 40, 400, r255), 127.5, 1e-12, "SIGMOID(c)");
  close(sigmoid(240, 40, 400, r255), 255 / (1 + Math.exp(-2)), 1e-9, "SIGMOID(c + w/2)");
  assert.ok(sigmoid(-5000, 40, 400, r255) < 1e-6);
});

Deno.test("applyWindow inverts after the VOI function (MONOCHROME1)", () => {
  const src = new Float32Array([-1000, -60, 40, 1000]);
  const plain = applyWindow(src, {
    center: 40,
    width: 400,
    fn: "linear",
    range: { ymin: 0, ymax: 1 },
    invert: false,
  });
  const inv = applyWindow(src, {
    center: 40,
    width: 400,
    fn: "linear",
    range: { ymin: 0, ymax: 1 },
    invert: true,
  });
  for (let i = 0; i < src.length; i++) close(inv[i], 1 - plain[i], 1e-7, `inverted[${i}]`);
  assert.equal(plain[0], 0);
  assert.equal(inv[0], 1);
});
