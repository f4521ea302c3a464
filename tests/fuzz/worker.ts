/**
 * The fuzz worker: decodes the inputs it is sent with the public API (decodeDicomAsync, readHeader,
 * readRawPixels) and answers with an {@link Outcome} each, so that the harness can stop an input that
 * hangs by terminating the worker.
 *
 * @module
 */
import process from "node:process";
import { decodeDicomAsync, DicomDecodeError, readHeader, readRawPixels } from "../../dicom/mod.ts";
import { type Outcome, problems } from "./verdict.ts";

/** A request: an id and the bytes to decode. */
export interface FuzzRequest {
  readonly id: number;
  readonly bytes: Uint8Array;
}

/** The answer: the decode outcome, and problems seen by readHeader / readRawPixels on the same bytes. */
export interface FuzzReply {
  readonly id: number;
  readonly outcome: Outcome;
  readonly other: ReadonlyArray<string>;
}

const failure = (e: unknown, ms: number): Outcome => ({
  ok: false,
  name: e instanceof Error ? e.name : typeof e,
  code: e instanceof DicomDecodeError ? e.code : undefined,
  message: e instanceof Error ? e.message : String(e),
  ms,
});

async function decode(bytes: Uint8Array): Promise<Outcome> {
  const t0 = performance.now();
  try {
    const { shape, data, meta } = await decodeDicomAsync(bytes);
    return { ok: true, shape, length: data.length, warnings: meta.warnings, ms: performance.now() - t0 };
  } catch (e) {
    return failure(e, performance.now() - t0);
  }
}

/** readHeader and readRawPixels must fail the same clean way (or succeed). */
function others(bytes: Uint8Array): string[] {
  const out: string[] = [];
  for (const [name, fn] of [["readHeader", readHeader], ["readRawPixels", readRawPixels]] as const) {
    try {
      fn(bytes);
    } catch (e) {
      out.push(...problems(failure(e, 0)).map((p) => `${name}: ${p}`));
    }
  }
  return out;
}

const scope = globalThis as unknown as {
  onmessage: ((e: MessageEvent<FuzzRequest>) => void) | null;
  postMessage(reply: FuzzReply): void;
};
scope.onmessage = async (e) => {
  const { id, bytes } = e.data;
  const outcome = await decode(bytes);
  const reply: FuzzReply = {
    id,
    outcome: { ...outcome, rss: process.memoryUsage().rss },
    other: others(bytes),
  };
  scope.postMessage(reply);
};
