/**
 * The WASM codecs' two builds: the WebAssembly build loads (it decodes 1.5-2.7x faster than the packages'
 * main export, a wasm2js translation), both decode every fixture alike, and a codec instance that failed on a
 * frame is replaced before the next one (CharLS, kept through a few hundred failures on a corrupt stream,
 * failed every later frame: tests/fixtures/codecs/README.md).
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { decodeDicom, decodeDicomAsync, DicomDecodeError, loadCodecs } from "../dicom/mod.ts";
import { loadCharls } from "../dicom/codecs/charls.ts";
import { loadLibjpegTurbo } from "../dicom/codecs/libjpeg_turbo.ts";
import { loadOpenJpeg } from "../dicom/codecs/openjpeg.ts";
import { type CodecId, useCodec } from "../dicom/codecs/registry.ts";
import type { FrameCodec } from "../dicom/codecs/types.ts";
import type { WasmModule } from "../dicom/codecs/wasm.ts";

const LOADERS = {
  charls: loadCharls,
  openjpeg: loadOpenJpeg,
  "libjpeg-turbo": loadLibjpegTurbo,
} as const satisfies Partial<Record<CodecId, (prefer?: WasmModule["build"]) => Promise<FrameCodec>>>;
const IDS = Object.keys(LOADERS) as Array<keyof typeof LOADERS>;

const fixture = (path: string) =>
  new Uint8Array(readFileSync(new URL(`./fixtures/${path}`, import.meta.url)));

/** Every codec of one build, in the registry. */
const useBuild = async (build: WasmModule["build"]) => {
  for (const id of IDS) useCodec(id, await LOADERS[id](build));
};

/** What decoding gives: the samples and shape, or the error's code. */
const outcome = async (bytes: Uint8Array) => {
  try {
    const { data, shape } = await decodeDicomAsync(bytes);
    return {
      shape: [...shape],
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice(),
    };
  } catch (e) {
    return { code: e instanceof DicomDecodeError ? e.code : `not coded: ${e}` };
  }
};

Deno.test("the WASM codecs load their WebAssembly build, and say which build decodes", async () => {
  for (const id of IDS) {
    assert.match((await LOADERS[id]()).name, /\(WASM, @cornerstonejs\//, id);
    assert.match((await LOADERS[id]("wasm2js")).name, /\(wasm2js, @cornerstonejs\//, id);
  }
});

Deno.test("the WebAssembly and wasm2js builds decode every DICOM fixture alike (samples bit for bit)", async () => {
  const files = readdirSync(new URL("./fixtures/dicom/", import.meta.url)).filter((f) => f.endsWith(".dcm"))
    .sort();
  try {
    await useBuild("wasm2js");
    const slow = new Map<string, Awaited<ReturnType<typeof outcome>>>();
    for (const f of files) slow.set(f, await outcome(fixture(`dicom/${f}`)));
    await useBuild("WASM");
    let decoded = 0;
    for (const f of files) {
      const fast = await outcome(fixture(`dicom/${f}`));
      assert.deepEqual(fast, slow.get(f), f);
      if ("bytes" in fast) decoded++;
    }
    assert.ok(decoded > 60, `${decoded} fixtures decoded`);
  } finally {
    await useBuild("WASM");
  }
});

Deno.test("a codec that failed on a frame is replaced: 300 corrupt JPEG-LS streams, then valid ones decode", async () => {
  // Each failure of this stream leaks a little of CharLS's memory (a C++ exception escaping through Embind):
  // one instance kept through 275 of them fails every later frame, valid ones too (both builds).
  const good = fixture("dicom/jpegls_lossless_signed.dcm");
  const poison = fixture("codecs/jpegls_poisons_wasm2js.dcm");
  const before = await outcome(good);
  assert.ok("bytes" in before);
  for (let i = 0; i < 300; i++) {
    assert.deepEqual(await outcome(poison), { code: "INVALID_DICOM" }, `failure ${i + 1}`);
  }
  assert.deepEqual(await outcome(good), before, "a valid frame after 300 failures decodes as before");
});

Deno.test("the synchronous decoder asks for loadCodecs() while a failed codec is replaced, then decodes", async () => {
  const good = fixture("dicom/jpegls_lossless_signed.dcm");
  try {
    useCodec("charls", await loadCharls("wasm2js"));
    assert.throws(() => decodeDicom(fixture("codecs/jpegls_poisons_wasm2js.dcm")), { code: "INVALID_DICOM" });
    assert.throws(() => decodeDicom(good), (e: unknown) => {
      assert.ok(e instanceof DicomDecodeError);
      assert.equal(e.code, "CODEC_UNAVAILABLE");
      assert.match(e.message, /afresh after a frame it failed on.*await loadCodecs\(\)/s);
      return true;
    });
    await loadCodecs();
    assert.deepEqual(decodeDicom(good).shape, (await decodeDicomAsync(good)).shape);
  } finally {
    await useBuild("WASM");
  }
});
