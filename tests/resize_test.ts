/**
 * resizePlanes against torchvision reference outputs made by tests/fixtures/make_fixtures.py; the WebAssembly
 * SIMD path against the JS passes (Deno here, Bun in a subprocess); the committed wasm bytes against the .wat;
 * the lookup path (`resizeLookup`, stored words through lookup tables) against resizePlanes of the looked-up
 * image, bit for bit.
 */
import assert from "node:assert/strict";
import {
  axisTable,
  cachedAxisTable,
  type ResizeFilter,
  resizeLookup,
  resizePlanes,
  resizePlanesJs,
} from "../plugins/resize/cpu.ts";
import type { LookupInput } from "../plugin.ts";
import { simdAvailable } from "../plugins/resize/cpu_simd.ts";
import { RESIZE_SIMD_WASM_BASE64 } from "../plugins/resize/resize_simd.wasm.ts";
import { isCurrent, RESIZE_SIMD } from "../scripts/build_wasm.ts";
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
  assert.ok(
    await isCurrent(RESIZE_SIMD, RESIZE_SIMD_WASM_BASE64),
    "plugins/resize/resize_simd.wasm.ts is stale: run `deno task build:wasm`",
  );
});

/** One lookup case: word layout, channels, sizes. */
interface LookupCase {
  readonly bitsAllocated: 8 | 16;
  readonly bitsStored: number;
  readonly shift: number;
  readonly signed: boolean;
  /** Stored samples (1, or 3 planar) and output channels (3 from 1 sample: gray widened). */
  readonly samples: 1 | 3;
  readonly channels: 1 | 3;
  readonly frames: number;
  readonly rows: number;
  readonly cols: number;
  /** Byte offset of the words in their buffer (odd: unaligned 16-bit words). */
  readonly at: number;
  /** Extra table entries beyond 2^bitsStored. */
  readonly extra: number;
}

/** Random words (garbage in the bits outside BitsStored too) and random tables for a case. */
function lookupInput(
  c: LookupCase,
  seed: number,
  overrides: Partial<LookupInput["pixels"]> = {},
): LookupInput {
  const wordBytes = c.bitsAllocated / 8;
  const n = c.frames * c.samples * c.rows * c.cols;
  const buffer = new Uint8Array(c.at + n * wordBytes + 3);
  let x = seed >>> 0;
  for (let i = 0; i < buffer.length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    buffer[i] = x >>> 24;
  }
  const size = 2 ** c.bitsStored + c.extra;
  const tables = Array.from({ length: c.channels }, (_, k) => randomPlanes(size, seed * 7 + k));
  const pixels = {
    type: "raw",
    bytes: buffer.subarray(c.at, c.at + n * wordBytes),
    bitsAllocated: c.bitsAllocated,
    bitsStored: c.bitsStored,
    shift: c.shift,
    signed: c.signed,
    byteSwap: false,
    planar: 1,
    ...overrides,
  } as LookupInput["pixels"];
  return {
    pixels,
    samples: c.samples,
    tables,
    offset: c.signed ? 2 ** (c.bitsStored - 1) : 0,
    header: {
      kind: "display",
      shape: [c.frames, c.channels, c.rows, c.cols],
      meta: {},
    } as unknown as LookupInput["header"],
  };
}

/** The looked-up image of a lookup input, in JS (the formula of LookupInput's documentation). */
function lookedUp(input: LookupInput): Float32Array {
  const { pixels: px, samples, tables, offset } = input;
  const [frames, channels, rows, cols] = input.header.shape;
  const plane = rows * cols;
  const view = new DataView(px.bytes.buffer, px.bytes.byteOffset, px.bytes.byteLength);
  const out = new Float32Array(frames * channels * plane);
  for (let f = 0; f < frames; f++) {
    for (let c = 0; c < channels; c++) {
      const s = samples === 1 ? 0 : c;
      for (let i = 0; i < plane; i++) {
        const k = (f * samples + s) * plane + i;
        const word = px.bitsAllocated === 16 ? view.getUint16(2 * k, true) : view.getUint8(k);
        out[(f * channels + c) * plane + i] =
          tables[c][((word >>> px.shift) & (2 ** px.bitsStored - 1)) ^ offset];
      }
    }
  }
  return out;
}

/** Whether two float arrays hold the same bytes (no deepEqual of big arrays). */
const sameFloats = (a: Float32Array, b: Float32Array) =>
  a.length === b.length &&
  new Uint8Array(a.buffer, a.byteOffset, a.byteLength).every((v, i) =>
    v === new Uint8Array(b.buffer, b.byteOffset, b.byteLength)[i]
  );

/** Lookup cases: BitsStored 6 to 16, shifts, signedness, 8- and 16-bit words, widened and planar channels. */
const LOOKUP_CASES: ReadonlyArray<LookupCase> = [
  {
    bitsAllocated: 16,
    bitsStored: 12,
    shift: 0,
    signed: false,
    samples: 1,
    channels: 1,
    frames: 1,
    rows: 64,
    cols: 64,
    at: 0,
    extra: 0,
  },
  {
    bitsAllocated: 16,
    bitsStored: 16,
    shift: 0,
    signed: true,
    samples: 1,
    channels: 1,
    frames: 1,
    rows: 37,
    cols: 29,
    at: 1,
    extra: 0,
  },
  {
    bitsAllocated: 16,
    bitsStored: 16,
    shift: 0,
    signed: false,
    samples: 1,
    channels: 3,
    frames: 2,
    rows: 20,
    cols: 100,
    at: 3,
    extra: 5,
  },
  {
    bitsAllocated: 16,
    bitsStored: 12,
    shift: 3,
    signed: true,
    samples: 1,
    channels: 1,
    frames: 1,
    rows: 130,
    cols: 67,
    at: 0,
    extra: 0,
  },
  {
    bitsAllocated: 16,
    bitsStored: 10,
    shift: 6,
    signed: false,
    samples: 3,
    channels: 3,
    frames: 2,
    rows: 17,
    cols: 33,
    at: 1,
    extra: 0,
  },
  {
    bitsAllocated: 16,
    bitsStored: 14,
    shift: 1,
    signed: true,
    samples: 3,
    channels: 3,
    frames: 1,
    rows: 33,
    cols: 17,
    at: 2,
    extra: 1,
  },
  {
    bitsAllocated: 16,
    bitsStored: 9,
    shift: 7,
    signed: false,
    samples: 1,
    channels: 1,
    frames: 3,
    rows: 15,
    cols: 7,
    at: 5,
    extra: 0,
  },
  {
    bitsAllocated: 8,
    bitsStored: 8,
    shift: 0,
    signed: false,
    samples: 1,
    channels: 1,
    frames: 1,
    rows: 100,
    cols: 20,
    at: 1,
    extra: 0,
  },
  {
    bitsAllocated: 8,
    bitsStored: 8,
    shift: 0,
    signed: true,
    samples: 3,
    channels: 3,
    frames: 1,
    rows: 37,
    cols: 29,
    at: 0,
    extra: 0,
  },
  {
    bitsAllocated: 8,
    bitsStored: 6,
    shift: 2,
    signed: true,
    samples: 1,
    channels: 3,
    frames: 2,
    rows: 6,
    cols: 9,
    at: 3,
    extra: 2,
  },
  {
    bitsAllocated: 8,
    bitsStored: 7,
    shift: 1,
    signed: false,
    samples: 1,
    channels: 1,
    frames: 1,
    rows: 1,
    cols: 1,
    at: 0,
    extra: 0,
  },
];

/** Output sizes of the lookup cases: down, up, mixed, one axis kept. */
const lookupSizes = (c: LookupCase): Array<readonly [number, number]> => [
  [Math.max(1, c.rows >> 1) + 1, Math.max(1, c.cols >> 1) + 2],
  [c.rows * 2 + 3, c.cols + 5],
  [c.rows, c.cols * 2 + 1],
  [c.rows + 7, c.cols],
];

Deno.test("resizeLookup equals resizePlanes of the looked-up image bit for bit (words, shifts, channels, filters)", () => {
  let seed = 11;
  let ran = 0;
  for (const c of LOOKUP_CASES) {
    const input = lookupInput(c, seed++);
    const image = lookedUp(input);
    for (const [outRows, outCols] of lookupSizes(c)) {
      for (const [filter, aa] of FILTERS) {
        const what = `${JSON.stringify(c)} -> ${outRows}x${outCols} ${filter} antialias=${aa}`;
        const got = resizeLookup(input, outRows, outCols, filter, aa);
        assert.ok(got, `${what}: declined`);
        const planes = c.frames * c.channels;
        const want = resizePlanes(image, planes, c.rows, c.cols, outRows, outCols, filter, aa);
        assert.ok(sameFloats(got, want), `${what}: differs, max abs diff ${maxAbsDiff(got, want)}`);
        ran++;
      }
    }
  }
  assert.equal(ran, LOOKUP_CASES.length * 4 * FILTERS.length);
});

Deno.test("resizeLookup declines what it does not read: big endian, 32-bit, interleaved, too short, size kept", () => {
  const c = LOOKUP_CASES[0];
  const ok = lookupInput(c, 5);
  assert.ok(resizeLookup(ok, 20, 20, "bilinear", true), "the plain case runs");
  const declined: Array<[string, LookupInput, number, number]> = [
    ["big endian", lookupInput(c, 5, { byteSwap: true }), 20, 20],
    ["32-bit words", lookupInput(c, 5, { bitsAllocated: 32 }), 20, 20],
    ["interleaved samples", lookupInput({ ...LOOKUP_CASES[4] }, 5, { planar: 0 }), 20, 20],
    ["pixel data too short", { ...ok, pixels: { ...ok.pixels, bytes: ok.pixels.bytes.subarray(1) } }, 20, 20],
    ["size kept", ok, c.rows, c.cols],
    ["a table too short", { ...ok, tables: [ok.tables[0].subarray(1)] }, 20, 20],
    ["a table missing", { ...ok, tables: [] }, 20, 20],
  ];
  for (const [what, input, rows, cols] of declined) {
    assert.equal(resizeLookup(input, rows, cols, "bilinear", true), undefined, what);
  }
});

Deno.test("resizeLookup: tables stay right after plain resizes overwrote the module's memory", () => {
  const cases = [LOOKUP_CASES[2], LOOKUP_CASES[0], LOOKUP_CASES[4]];
  for (const [k, c] of cases.entries()) {
    const input = lookupInput(c, 40 + k);
    const planes = c.frames * c.channels;
    const want = resizePlanes(lookedUp(input), planes, c.rows, c.cols, 23, 31, "bilinear", true);
    // The same tables again after a plain resize big enough to overwrite them (then after a small one).
    for (const [rows, cols] of [[0, 0], [900, 700], [30, 40]]) {
      if (rows > 0) resizePlanes(randomPlanes(rows * cols, k), 1, rows, cols, 300, 200, "bilinear", true);
      const got = resizeLookup(input, 23, 31, "bilinear", true);
      assert.ok(got && sameFloats(got, want), `case ${k}, after a plain resize of ${rows}x${cols}`);
    }
  }
});

Deno.test("resizePlanes falls back to the JS passes where WebAssembly SIMD is missing", async () => {
  // V8 without SSE4.1 has no WebAssembly SIMD: the module does not validate, resizePlanes runs the JS passes.
  const cpu = new URL("../plugins/resize/cpu.ts", import.meta.url).href;
  const simd = new URL("../plugins/resize/cpu_simd.ts", import.meta.url).href;
  const script = `
    import { resizeLookup, resizePlanes, resizePlanesJs } from "${cpu}";
    import { simdAvailable } from "${simd}";
    const src = Float32Array.from({ length: 2 * 37 * 53 }, (_, i) => Math.sin(i));
    const a = resizePlanes(src, 2, 37, 53, 11, 19, "bilinear", true);
    const b = resizePlanesJs(src, 2, 37, 53, 11, 19, "bilinear", true);
    const pixels = { type: "raw", bytes: new Uint8Array(2 * 37 * 53), bitsAllocated: 16, bitsStored: 12, shift: 0,
      signed: false, byteSwap: false, planar: 0 };
    const header = { kind: "display", shape: [1, 1, 37, 53], meta: {} };
    const lookup = resizeLookup({ pixels, samples: 1, tables: [new Float32Array(4096)], offset: 0, header },
      11, 19, "bilinear", true);
    console.log(JSON.stringify({ simd: simdAvailable(), same: a.every((x, i) => Object.is(x, b[i])),
      lookup: lookup === undefined ? "declined" : "ran" }));
  `;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--no-enable-sse4-1", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  const got = JSON.parse(new TextDecoder().decode(r.stdout).trim().split("\n").pop()!);
  assert.deepEqual(got, { simd: false, same: true, lookup: "declined" });
});

Deno.test("bun: the WebAssembly SIMD path is available and equals the JS passes; the lookup path too", async () => {
  const bun = findBun();
  assert.ok(bun, "no Bun binary: run `deno install` (bun is a devDependency) or set BUN_BINARY");
  const script = `
    import { resizeLookup, resizePlanes, resizePlanesJs } from "./plugins/resize/cpu.ts";
    import { simdAvailable } from "./plugins/resize/cpu_simd.ts";
    const src = Float32Array.from({ length: 2 * 37 * 53 }, (_, i) => Math.sin(i) * 0.5 + 0.5);
    let worst = 0;
    let lookupSame = true;
    // Signed 12-bit words shifted by 2, at an odd byte offset, widened to 2 channels: the lookup path.
    const bytes = Uint8Array.from({ length: 2 * 37 * 53 * 2 + 1 }, (_, i) => (i * 2654435761) >>> 24).subarray(1);
    const pixels = { type: "raw", bytes, bitsAllocated: 16, bitsStored: 12, shift: 2, signed: true,
      byteSwap: false, planar: 0 };
    const tables = [0, 1].map((c) => Float32Array.from({ length: 4096 }, (_, i) => Math.cos(i + c)));
    const input = { pixels, samples: 1, tables, offset: 2048, header: { kind: "display", shape: [1, 2, 37, 53] } };
    const looked = new Float32Array(2 * 37 * 53);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < 37 * 53; i++) looked[c * 37 * 53 + i] = tables[c][((view.getUint16(2 * i, true) >>> 2) & 4095) ^ 2048];
    }
    for (const [f, aa] of [["bilinear", true], ["bilinear", false], ["nearest", false]]) {
      for (const [oh, ow] of [[11, 19], [80, 101]]) {
        const a = resizePlanes(src, 2, 37, 53, oh, ow, f, aa);
        const b = resizePlanesJs(src, 2, 37, 53, oh, ow, f, aa);
        for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
        const l = resizeLookup(input, oh, ow, f, aa);
        const r = resizePlanes(looked, 2, 37, 53, oh, ow, f, aa);
        lookupSame &&= l !== undefined && l.every((x, i) => Object.is(x, r[i]));
      }
    }
    console.log(JSON.stringify({ simd: simdAvailable(), worst, lookupSame }));
  `;
  const r = await new Deno.Command(bun, { args: ["-e", script], stdout: "piped", stderr: "piped" }).output();
  const stderr = new TextDecoder().decode(r.stderr);
  assert.equal(r.code, 0, stderr);
  const { simd, worst, lookupSame } = JSON.parse(
    new TextDecoder().decode(r.stdout).trim().split("\n").pop()!,
  );
  assert.equal(simd, true, "Bun did not validate the SIMD module");
  assert.equal(lookupSame, true, "Bun: resizeLookup differs from resizePlanes of the looked-up image");
  assert.ok(worst <= 1e-6, `Bun: SIMD vs JS max abs diff ${worst}`);
});
