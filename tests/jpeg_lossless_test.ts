/**
 * The built-in JPEG lossless decoder (dicom/codecs/jpeg_lossless.ts): DCMTK's references for every predictor,
 * point transforms, precisions and signs (tests/fixtures/lossless), round trips of what DCMTK does not make
 * (restart intervals, a scan per component), and its corrupt and cut-short streams.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { decodeNpy } from "../core/npy.ts";
import { jpegLosslessCodec } from "../dicom/codecs/jpeg_lossless.ts";
import type { FrameRequest } from "../dicom/codecs/types.ts";
import { decodeDicom, decodeDicomAsync, DicomDecodeError } from "../dicom/mod.ts";
import { losslessKernel, withoutLosslessKernel } from "../dicom/codecs/jpeg_lossless_kernel.ts";
import { JPEG_LOSSLESS_WASM_BASE64 } from "../dicom/codecs/jpeg_lossless.wasm.ts";
import { isCurrent, JPEG_LOSSLESS } from "../scripts/build_wasm.ts";
import { rng } from "./fuzz/mutate.ts";
import { encodeLossless, type LosslessImage } from "./support/jpeg_lossless_encode.ts";

const LOSSLESS = new URL("./fixtures/lossless/", import.meta.url);
const read = (dir: URL, name: string) => new Uint8Array(readFileSync(new URL(name, dir)));
const dcmFiles = (dir: URL) => readdirSync(dir).filter((f) => f.endsWith(".dcm")).sort();

for (const file of dcmFiles(LOSSLESS)) {
  Deno.test(`lossless ${file}: equals dcmdjpeg`, async () => {
    const { data, shape, meta } = await decodeDicomAsync(read(LOSSLESS, file));
    const ref = decodeNpy(read(LOSSLESS, file.replace(/\.dcm$/, ".npy")));
    assert.deepEqual([...shape], ref.shape);
    assert.match(meta.codec ?? "", /built-in JPEG lossless decoder/);
    for (let i = 0; i < data.length; i++) {
      if (data[i] !== Number(ref.data[i])) assert.fail(`sample ${i}: ${data[i]}, dcmdjpeg ${ref.data[i]}`);
    }
  });
}

/** A smooth, noisy test plane of `bits`-bit samples. */
const plane = (rows: number, cols: number, bits: number, seed: number): Uint16Array => {
  const next = rng(seed);
  const max = (1 << bits) - 1;
  return Uint16Array.from({ length: rows * cols }, (_, i) => {
    const [y, x] = [Math.floor(i / cols), i % cols];
    const smooth = (0.5 + 0.4 * Math.sin(x / 5) * Math.cos(y / 7)) * max;
    return Math.max(0, Math.min(max, Math.round(smooth + (next() - 0.5) * max * 0.05)));
  });
};

const request = (image: LosslessImage): FrameRequest => ({
  rows: image.rows,
  cols: image.cols,
  samples: image.planes.length,
  bitsAllocated: image.precision > 8 ? 16 : 8,
  bitsStored: image.precision,
  signed: false,
  photometric: image.planes.length === 3 ? "RGB" : "MONOCHROME2",
  frame: 1,
});

/** Decodes `image` encoded, and checks the samples are those that went in (shifted by the point transform). */
const roundTrip = (image: LosslessImage) => {
  const frame = jpegLosslessCodec.decode(encodeLossless(image), request(image));
  const n = image.planes.length;
  assert.deepEqual([frame.rows, frame.cols, frame.components, frame.interleaved], [
    image.rows,
    image.cols,
    n,
    true,
  ]);
  const pt = image.pointTransform ?? 0;
  for (let i = 0; i < image.rows * image.cols; i++) {
    for (let c = 0; c < n; c++) {
      const want = (image.planes[c][i] << pt) & 0xffff;
      if (frame.samples[i * n + c] !== want) {
        assert.fail(`sample ${i}, component ${c}: ${frame.samples[i * n + c]}, want ${want}`);
      }
    }
  }
};

Deno.test("lossless round trips: restart intervals (every predictor), a scan per component, point transforms", () => {
  const [rows, cols] = [21, 17];
  for (let predictor = 1; predictor <= 7; predictor++) {
    for (const lines of [1, 2, 5]) {
      roundTrip({
        rows,
        cols,
        precision: 12,
        planes: [plane(rows, cols, 12, predictor)],
        predictor,
        restartInterval: lines * cols,
      });
    }
  }
  const rgb = [0, 1, 2].map((k) => plane(rows, cols, 8, 40 + k));
  for (const interleaved of [true, false]) {
    for (const restartInterval of [0, 3 * cols]) {
      roundTrip({ rows, cols, precision: 8, planes: rgb, predictor: 4, interleaved, restartInterval });
    }
  }
  roundTrip({
    rows,
    cols,
    precision: 16,
    planes: [plane(rows, cols, 13, 50)],
    predictor: 7,
    pointTransform: 3,
  });
  roundTrip({ rows, cols, precision: 2, planes: [plane(rows, cols, 2, 51)], predictor: 1 });
  // 16-bit jumps of 32768 (category 16, no extra bits) and wrap-around modulo 2^16
  const jumps = Uint16Array.from(
    { length: rows * cols },
    (_, i) => (i % 3 === 0 ? 0 : i % 3 === 1 ? 32768 : 65535),
  );
  for (const predictor of [1, 4, 7]) roundTrip({ rows, cols, precision: 16, planes: [jumps], predictor });
});

Deno.test("lossless: what it does not implement, and corrupt or cut-short streams, are coded errors", () => {
  const [rows, cols] = [8, 10];
  const image: LosslessImage = {
    rows,
    cols,
    precision: 12,
    planes: [plane(rows, cols, 12, 60)],
    predictor: 1,
  };
  const good = encodeLossless(image);
  const codeOf = (bytes: Uint8Array) => {
    try {
      jpegLosslessCodec.decode(bytes, request(image));
      return "decoded";
    } catch (e) {
      assert.ok(e instanceof DicomDecodeError, String(e));
      return e.code;
    }
  };
  // a restart interval that is not a whole number of lines
  const odd = encodeLossless({ ...image, restartInterval: 2 * cols });
  const dri = odd.findIndex((b, i) => b === 0xff && odd[i + 1] === 0xdd);
  odd[dri + 5] = cols + 3;
  assert.equal(codeOf(odd), "UNSUPPORTED_PIXEL_DATA");
  // cut short inside the entropy-coded data, without EOI
  assert.equal(codeOf(good.subarray(0, good.length - 30)), "TRUNCATED");
  // a missing restart marker
  const restarts = encodeLossless({ ...image, restartInterval: 2 * cols });
  const rst = restarts.findIndex((b, i) => b === 0xff && restarts[i + 1] === 0xd0);
  restarts[rst + 1] = 0xd3;
  assert.equal(codeOf(restarts), "INVALID_DICOM");
  // a predictor of 0 (hierarchical only) and a DCT frame header
  const sos = good.findIndex((b, i) => b === 0xff && good[i + 1] === 0xda);
  const badPredictor = good.slice();
  badPredictor[sos + 7] = 0;
  assert.equal(codeOf(badPredictor), "INVALID_DICOM");
  // Se and Ah must be 0, as libjpeg (dcmdjpeg) requires ("Invalid lossless parameters")
  for (const [at, value] of [[sos + 8, 1], [sos + 9, 0x10]]) {
    const bad = good.slice();
    bad[at] = value;
    assert.equal(codeOf(bad), "INVALID_DICOM");
  }
  const dct = good.slice();
  dct[dct.findIndex((b, i) => b === 0xff && dct[i + 1] === 0xc3) + 1] = 0xc1;
  assert.equal(codeOf(dct), "UNSUPPORTED_PIXEL_DATA");
});

Deno.test("jpeg_lossless.wasm.ts holds exactly jpeg_lossless.wat assembled (run `deno task build:wasm`)", async () => {
  assert.ok(
    await isCurrent(JPEG_LOSSLESS, JPEG_LOSSLESS_WASM_BASE64),
    "dicom/codecs/jpeg_lossless.wasm.ts is stale: run `deno task build:wasm`",
  );
});

/** A decode's outcome: its samples' bytes, or its error's code and text. */
const outcome = (
  decode: () => { samples: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number } },
) => {
  try {
    const { samples } = decode();
    return `ok ${new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength).join(",")}`;
  } catch (e) {
    assert.ok(e instanceof DicomDecodeError, String(e));
    return `error ${e.code}: ${e.message}`;
  }
};

Deno.test("lossless: the WebAssembly loop gives what the TypeScript one gives, on valid, cut-short and corrupt streams", () => {
  assert.ok(losslessKernel(), "WebAssembly is available here: the kernel must run");
  const next = rng(1203);
  let decoded = 0;
  let compared = 0;
  const same = (bytes: Uint8Array, req: FrameRequest, what: string) => {
    const fast = outcome(() => jpegLosslessCodec.decode(bytes, req));
    const slow = outcome(() => withoutLosslessKernel(() => jpegLosslessCodec.decode(bytes, req)));
    if (fast !== slow) {
      assert.fail(`${what}: WebAssembly ${fast.slice(0, 300)}; TypeScript ${slow.slice(0, 300)}`);
    }
    compared++;
    if (fast.startsWith("ok")) decoded++;
  };
  // Streams from the test encoder: predictor 1 (the kernel's) and others, restarts, 2-16 bits, jumps of 32768
  // (codes that do not fit the lookup), noise (0xFF bytes to unstuff), then each cut short and changed.
  for (let n = 0; n < 120; n++) {
    const [rows, cols] = [1 + Math.floor(next() * 24), 1 + Math.floor(next() * 40)];
    const precision = [2, 8, 12, 16][n % 4];
    const noisy = Uint16Array.from(
      { length: rows * cols },
      () => Math.floor(next() * (n % 5 === 0 ? 1 << precision : Math.min(1 << precision, 64))),
    );
    const image: LosslessImage = {
      rows,
      cols,
      precision,
      planes: [n % 2 ? noisy : plane(rows, cols, precision, n)],
      predictor: n % 3 === 2 ? 1 + (n % 7) : 1,
      restartInterval: n % 4 === 1 ? cols * (1 + (n % 3)) : 0,
    };
    const good = encodeLossless(image);
    same(good, request(image), `image ${n}`);
    same(good.subarray(0, Math.floor(next() * good.length)), request(image), `image ${n} cut short`);
    for (let k = 0; k < 3; k++) {
      const bad = good.slice();
      for (let j = 0; j < 1 + k; j++) bad[Math.floor(next() * bad.length)] = Math.floor(next() * 256);
      same(bad, request(image), `image ${n} changed`);
    }
  }
  // DCMTK's fixtures, and the decode fixtures in a lossless syntax (valid, cut short)
  const DICOM = new URL("./fixtures/dicom/", import.meta.url);
  const files = [
    ...dcmFiles(LOSSLESS).map((f) => [f, read(LOSSLESS, f)] as const),
    ...dcmFiles(DICOM).filter((f) => /^(jpeg_lossless|sv\d|broken_jpeg_lossless)/.test(f)).map((f) =>
      [f, read(DICOM, f)] as const
    ),
  ];
  for (const [k, bytes] of files) {
    const fast = outcome(() => ({ samples: decodeDicom(bytes).data }));
    const slow = outcome(() => withoutLosslessKernel(() => ({ samples: decodeDicom(bytes).data })));
    if (fast !== slow) {
      assert.fail(`file ${k}: WebAssembly ${fast.slice(0, 300)}; TypeScript ${slow.slice(0, 300)}`);
    }
    compared++;
    if (fast.startsWith("ok")) decoded++;
    else if (!k.startsWith("broken_")) assert.fail(`${k}: ${fast.slice(0, 300)}`);
  }
  assert.ok(compared > 600 && decoded > 150 && decoded < compared, `${decoded} of ${compared} decoded`);
});

Deno.test("lossless: a frame too large for the WebAssembly loop's memory (96 MiB) is left to TypeScript", () => {
  const kernel = losslessKernel()!;
  const lookup = new Int32Array(4096);
  assert.equal(kernel.load(new Uint8Array(16), 0, 60_000_000, lookup), false, "120 MB of plane: refused");
  assert.equal(kernel.load(new Uint8Array(16), 0, 512 * 512, lookup), true, "a 512² plane: placed");
});
