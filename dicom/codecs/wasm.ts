/**
 * Loading the Emscripten-built WASM codecs of `@cornerstonejs/codec-*`.
 *
 * Each package's default export is a factory that instantiates its WebAssembly module (embedded in the JS
 * file, so no file lookup is needed) and resolves to an object exposing Embind classes (`JpegLSDecoder`,
 * `J2KDecoder`, ...). The codecs print diagnostics with `printf`; those lines are captured here (never
 * written to the console) so that a decoder can quote them in its error message.
 *
 * @module
 */
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
): Promise<WasmModule> {
  const lines: string[] = [];
  const capture = (s: unknown) => {
    if (lines.length < 200) lines.push(String(s));
  };
  try {
    const mod = await load();
    const factory = mod.default as Factory | undefined;
    if (typeof factory !== "function") throw new Error(`${packageName} has no default export factory`);
    const exports = await factory({ print: capture, printErr: capture });
    return { exports, drain: () => lines.splice(0, lines.length) };
  } catch (e) {
    throw new DicomDecodeError(
      "CODEC_UNAVAILABLE",
      `The codec package ${packageName} could not be loaded (${errorText(e)}). It is a dependency in ` +
        "package.json: reinstall the dependencies (e.g. `npm ci`, or let Deno install them) and check that " +
        "this runtime supports WebAssembly.",
    );
  }
}

/** Where a codec's WASM decoder is: its package, the dynamic import of it, and its Embind class. */
export interface WasmCodecSpec {
  readonly packageName: string;
  /** The `import()` of the package (a literal specifier, so bundlers see it). */
  readonly load: () => Promise<{ default?: unknown }>;
  readonly className: string;
}

/** A codec package instantiated, with its decoder class (see {@link loadWasmModule}). */
export async function loadWasmCodec<D>(
  spec: WasmCodecSpec,
): Promise<{ readonly module: WasmModule; readonly Decoder: new () => D }> {
  const module = await loadWasmModule(spec.load, spec.packageName);
  return { module, Decoder: wasmClass<D>(module, spec.className, spec.packageName) };
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
