/**
 * Loading the Emscripten-built WASM codecs of `@cornerstonejs/codec-*`.
 *
 * Each package ships its codec twice: a WebAssembly build (`<pkg>/decodewasmjs`, Emscripten's loader, with the
 * module in `<pkg>/decodewasm`) and, as its main export, the same code translated to JavaScript by wasm2js
 * (asm.js-style, no WebAssembly needed). The WebAssembly build decodes 1.5-4x faster (`bench/decode_bench.ts`),
 * so it is what loads: its `.wasm` file is found with `import.meta.resolve` and read here. Where that file
 * cannot be read (a bundle without `node_modules` beside it, no file system), the wasm2js build loads instead
 * and the codec says so in its name. Both expose the same Embind classes (`JpegLSDecoder`, `J2KDecoder`, ...).
 * The codecs print diagnostics with `printf`; those lines are captured here (never written to the console) so
 * that a decoder can quote them in its error message.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { DicomDecodeError, errorText } from "../errors.ts";

/** The fields of the FrameInfo object the cornerstone decoders return. */
export interface WasmFrameInfo {
  readonly width: number;
  readonly height: number;
  readonly bitsPerSample: number;
  readonly componentCount: number;
  readonly isSigned?: boolean;
  readonly isUsingColorTransform?: boolean;
}

/** What every cornerstone decoder class has; codec-specific methods are added by each wrapper. */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array | Uint8ClampedArray;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  delete(): void;
}

/** A loaded codec module: its exports, and the lines it printed since the last {@link WasmModule.drain}. */
export interface WasmModule {
  readonly exports: Readonly<Record<string, unknown>>;
  /** Returns the captured output lines and clears them. */
  drain(): string[];
  /** Which build loaded: WebAssembly, or the package's JavaScript translation of it (see the module doc). */
  readonly build: "WASM" | "wasm2js";
}

type Factory = (moduleArg?: Record<string, unknown>) => Promise<Record<string, unknown>>;

/**
 * Instantiates one codec package.
 *
 * @param load the dynamic `import()` of the package (kept at the call site so bundlers see the specifier)
 * @throws DicomDecodeError CODEC_UNAVAILABLE when the package is missing or WebAssembly fails to start
 */
export async function loadWasmModule(
  load: () => Promise<{ default?: unknown }>,
  packageName: string,
  build: WasmModule["build"] = "wasm2js",
  wasmBinary?: Uint8Array,
): Promise<WasmModule> {
  const lines: string[] = [];
  const capture = (s: unknown) => {
    if (lines.length < 200) lines.push(String(s));
  };
  try {
    const mod = await load();
    const factory = mod.default as Factory | undefined;
    if (typeof factory !== "function") throw new Error(`${packageName} has no default export factory`);
    const binary = wasmBinary ? { wasmBinary } : {};
    const exports = await factory({ print: capture, printErr: capture, ...binary });
    return { exports, drain: () => lines.splice(0, lines.length), build };
  } catch (e) {
    throw new DicomDecodeError(
      "CODEC_UNAVAILABLE",
      `The codec package ${packageName} could not be loaded (${errorText(e)}). It is a dependency in ` +
        "package.json: reinstall the dependencies (e.g. `npm ci`, or let Deno install them) and check that " +
        "this runtime supports WebAssembly.",
    );
  }
}

/** Where a codec's decoder is: its package, its two builds (see the module doc) and its Embind class. */
export interface WasmCodecSpec {
  readonly packageName: string;
  /**
   * The package's WebAssembly build: the `import()` of its Emscripten loader and the URL of its `.wasm` file
   * (`import.meta.resolve`), both with literal specifiers so that bundlers see them.
   */
  readonly wasm?: { readonly load: () => Promise<{ default?: unknown }>; readonly file: () => string };
  /** The `import()` of the package's main export, used when there is no `wasm` or its file cannot be read. */
  readonly load: () => Promise<{ default?: unknown }>;
  /** What the main export is: the wasm2js build (the default), or WebAssembly finding its file itself. */
  readonly mainBuild?: WasmModule["build"];
  readonly className: string;
}

/**
 * A codec package instantiated, with its decoder class (see {@link loadWasmModule}): its WebAssembly build
 * where it can, unless `prefer` is "wasm2js" (tests compare the two builds).
 */
export async function loadWasmCodec<D>(
  spec: WasmCodecSpec,
  prefer: WasmModule["build"] = "WASM",
): Promise<{ readonly module: WasmModule; readonly Decoder: new () => D }> {
  const module = prefer === "WASM"
    ? await loadFastestBuild(spec)
    : await loadWasmModule(spec.load, spec.packageName);
  return { module, Decoder: wasmClass<D>(module, spec.className, spec.packageName) };
}

/** The WebAssembly build when its `.wasm` file can be read and instantiated, else the wasm2js build. */
async function loadFastestBuild(spec: WasmCodecSpec): Promise<WasmModule> {
  const binary = spec.wasm && readWasmFile(spec.wasm.file);
  if (spec.wasm && binary) {
    try {
      return await loadWasmModule(spec.wasm.load, spec.packageName, "WASM", binary);
    } catch {
      // e.g. a runtime without WebAssembly: the JavaScript build below still decodes
    }
  }
  return loadWasmModule(spec.load, spec.packageName, spec.mainBuild);
}

/** The bytes of a `.wasm` file given by a resolver of its URL; undefined when it cannot be found or read. */
function readWasmFile(file: () => string): Uint8Array | undefined {
  try {
    return new Uint8Array(readFileSync(new URL(file())));
  } catch {
    return undefined;
  }
}

/** The Embind class `name` of a module, typed by the caller. */
export function wasmClass<T>(module: WasmModule, name: string, packageName: string): new () => T {
  const cls = module.exports[name];
  if (typeof cls !== "function") {
    throw new DicomDecodeError(
      "CODEC_UNAVAILABLE",
      `The codec package ${packageName} does not export ${name}: an incompatible version is installed.`,
    );
  }
  return cls as new () => T;
}

/**
 * Runs one decode with a fresh decoder instance (the cornerstone wrappers keep stale output between calls),
 * copying the input into WASM memory, and deleting the instance afterwards.
 */
export function withDecoder<D extends WasmDecoder, R>(
  Decoder: new () => D,
  data: Uint8Array,
  fn: (decoder: D) => R,
): R {
  const decoder = new Decoder();
  try {
    decoder.getEncodedBuffer(data.length).set(data);
    return fn(decoder);
  } finally {
    decoder.delete();
  }
}

/** Copies WASM-heap output into JS memory (the heap view dies with the decoder or the next allocation). */
export function copyOut(view: Uint8Array | Uint8ClampedArray, bitsPerSample: number, signed: boolean) {
  const bytes = new Uint8Array(view.length);
  bytes.set(view);
  if (bitsPerSample <= 8) return bytes;
  return signed
    ? new Int16Array(bytes.buffer, 0, bytes.length >> 1)
    : new Uint16Array(bytes.buffer, 0, bytes.length >> 1);
}
