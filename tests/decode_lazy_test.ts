/**
 * Codec loading: lazy (on first use of a syntax), cached, and what the synchronous decodeDicom() does before
 * a codec is loaded. Runs in its own module, so no other test has loaded a codec yet.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { loadCodec, loadedCodec } from "../dicom/codecs/registry.ts";
import { decodeDicom, decodeDicomAsync, DicomDecodeError, loadCodecs } from "../dicom/mod.ts";

const DIR = new URL("./fixtures/dicom/", import.meta.url);
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, DIR)));

const syncError = (name: string) => {
  try {
    decodeDicom(read(name));
  } catch (e) {
    assert.ok(e instanceof DicomDecodeError);
    return e;
  }
  return undefined;
};

Deno.test("nothing is loaded up front; native, RLE, 12-bit and lossless JPEG decode synchronously without loading", () => {
  for (const id of ["libjpeg-turbo", "charls", "openjpeg", "openjph"] as const) {
    assert.equal(loadedCodec(id), undefined, id);
  }
  assert.equal(decodeDicom(read("unsigned16_rescale.dcm")).shape[2], 24);
  assert.equal(decodeDicom(read("rle_rgb.dcm")).shape[1], 3);
  assert.equal(decodeDicom(read("jpeg_extended_12bit.dcm")).shape[3], 64);
  assert.equal(decodeDicom(read("jpeg_lossless_sv1.dcm")).shape[3], 64);
});

Deno.test("synchronous decode before the codec is loaded: CODEC_UNAVAILABLE saying what to call", () => {
  const e = syncError("jpegls_rgb.dcm");
  assert.ok(e);
  assert.equal(e.code, "CODEC_UNAVAILABLE");
  assert.match(e.message, /JPEG-LS Lossless Image Compression \(1\.2\.840\.10008\.1\.2\.4\.80\)/);
  assert.match(e.message, /decodeDicomAsync|loadCodecs/);
});

Deno.test("decodeDicomAsync loads the codec on first use; then the synchronous decoder can use it", async () => {
  const a = await decodeDicomAsync(read("jpegls_rgb.dcm"));
  assert.ok(loadedCodec("charls"));
  const b = decodeDicom(read("jpegls_rgb.dcm"));
  assert.deepEqual(Array.from(a.data), Array.from(b.data));
  // only what was needed
  assert.equal(loadedCodec("openjpeg"), undefined);
  assert.equal(loadedCodec("openjph"), undefined);
});

Deno.test("codecs are cached: concurrent and repeated loads give the same instance", async () => {
  const [x, y] = await Promise.all([loadCodec("openjph"), loadCodec("openjph")]);
  assert.equal(x, y);
  assert.equal(await loadCodec("openjph"), x);
  assert.equal(loadedCodec("openjph"), x, "the cached instance, with no load");
});

Deno.test("loadCodecs(syntaxes) preloads just those", async () => {
  await loadCodecs(["1.2.840.10008.1.2.4.90"]);
  assert.ok(loadedCodec("openjpeg"));
  assert.equal(loadedCodec("libjpeg-turbo"), undefined);
  assert.equal(decodeDicom(read("j2k_lossless.dcm")).shape[3], 64);
  assert.equal(syncError("jpeg_baseline.dcm")?.code, "CODEC_UNAVAILABLE");
  await loadCodecs();
  assert.equal(decodeDicom(read("jpeg_baseline.dcm")).shape[1], 1);
});
