/**
 * The one module that knows which JavaScript runtime it is on.
 *
 * Everything else uses `node:` built-ins (available in Deno, Bun and Node) and Effect services, so the
 * CPU path runs unchanged under Deno and Bun.
 *
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import process from "node:process";
import { setImmediate } from "node:timers";

/** "deno 2.9.6", "bun 1.4.4" or "node 20.x". */
export const runtimeName = (): string => {
  const g = globalThis as { Deno?: { version: { deno: string } } };
  if (g.Deno) return `deno ${g.Deno.version.deno}`;
  if (process.versions.bun) return `bun ${process.versions.bun}`;
  return `node ${process.versions.node}`;
};

/** Command-line arguments after the script. */
export const args = (): ReadonlyArray<string> => process.argv.slice(2);

/** Writes to standard error without a newline (progress, diagnostics). */
export const writeStderr = (text: string): void => {
  process.stderr.write(text);
};

/** Writes to standard output (results). */
export const writeStdout = (text: string): void => {
  process.stdout.write(text);
};

/** Whether standard error is an interactive terminal (progress bar vs. one line per N inputs). */
export const stderrIsTTY = (): boolean => process.stderr.isTTY === true;

/** Terminal width for progress bars. */
export const stderrColumns = (): number => process.stderr.columns ?? 80;

/** Reads an environment variable. */
export const env = (name: string): string | undefined => process.env[name];

/** Sets an environment variable for this process (and native libraries it loads later). */
export const setEnv = (name: string, value: string): void => {
  process.env[name] = value;
};

let lastTimerYield = 0;

/**
 * Lets the event loop run (worker messages, and signals): a loop of awaits on promises that are already
 * settled never does. An immediate turn delivers messages; signals arrive through the I/O reactor, which a
 * busy loop only polls when it waits for a timer - so every 50 ms this waits for one (about 1-2 ms), and a
 * SIGINT is seen within that time instead of when the work ends.
 */
export const yieldToEventLoop = (): Promise<void> => {
  const now = performance.now();
  if (now - lastTimerYield < 50) return new Promise((resolve) => setImmediate(resolve));
  lastTimerYield = now;
  return new Promise((resolve) => setTimeout(resolve, 0));
};

/** Ends the process now with `code`. */
export const exitNow = (code: number): never => process.exit(code);

/** Sets the exit status the process ends with. */
export const setExitCode = (code: number): void => {
  process.exitCode = code;
};

/** The exit status the process will end with (0 unless set). */
export const exitCode = (): number => Number(process.exitCode ?? 0);

/** Process id, for unique temporary file names. */
export const pid = (): number => process.pid;

/** Whether a process of this host is alive (one owned by another user counts as alive). */
export const processAlive = (id: number): boolean => {
  try {
    process.kill(id, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM"; // exists, owned by another user
  }
};

/** Listens for a termination signal; returns a function that stops listening. */
export const onSignal = (signal: "SIGINT" | "SIGTERM", listener: () => void): () => void => {
  process.on(signal, listener);
  return () => {
    process.off(signal, listener);
  };
};

/** What the input walk needs to know of a path (node's `Stats` has it too). */
export interface PathInfo {
  isFile(): boolean;
  isDirectory(): boolean;
  /** Device and inode: the identity of a file or folder whatever the path to it. */
  readonly dev: number;
  readonly ino: number;
}

/** The calls of Deno's own file system API that {@link statPath}, {@link listDir} and {@link firstNames} use. */
interface DenoFs {
  statSync(path: string): {
    readonly isFile: boolean;
    readonly isDirectory: boolean;
    readonly dev: number;
    readonly ino: number | null;
  };
  readDirSync(path: string): Iterable<{ readonly name: string }>;
  readDir(path: string): AsyncIterable<{ readonly name: string }>;
}

const denoFs = (): DenoFs | undefined => (globalThis as { Deno?: DenoFs }).Deno;

/** A {@link PathInfo} from Deno's `statSync`. */
class DenoPathInfo implements PathInfo {
  constructor(
    readonly file: boolean,
    readonly directory: boolean,
    readonly dev: number,
    readonly ino: number,
  ) {}
  isFile(): boolean {
    return this.file;
  }
  isDirectory(): boolean {
    return this.directory;
  }
}

/**
 * `stat`, following links; throws errors with node's `code` (ENOENT, ELOOP, EACCES...). Under Deno, Deno's own
 * call: `node:fs`'s `statSync` builds a whole `Stats` there, ~23 µs a call against ~10, and listing a folder of
 * 10,000 inputs makes 10,000 of them. Node's where Deno has no inode number (Windows).
 */
export const statPath = (path: string): PathInfo => {
  const deno = denoFs();
  if (deno) {
    const s = deno.statSync(path);
    if (s.ino !== null) return new DenoPathInfo(s.isFile, s.isDirectory, s.dev, s.ino);
  }
  return statSync(path);
};

/**
 * The names in a folder, in no particular order; throws like `readdir`. Under Deno, Deno's own call (~1.3 µs
 * an entry; `node:fs`'s `readdirSync` takes ~5).
 */
export const listDir = (path: string): string[] => {
  const deno = denoFs();
  return deno ? Array.from(deno.readDirSync(path), (e) => e.name) : readdirSync(path);
};

/**
 * Up to `limit` names in a folder (all of them when it holds fewer), in no particular order; rejects like
 * `readdir`. The folder is read an entry at a time and closed once `limit` are read: {@link listDir} reads a
 * folder of 10,000 entries whole (~10 ms, and ~2 MiB of entry objects that outlive young-generation
 * collections) where this needs two.
 */
export const firstNames = async (path: string, limit: number): Promise<string[]> => {
  const names: string[] = [];
  if (limit <= 0) return names;
  const deno = denoFs();
  if (deno) {
    for await (const entry of deno.readDir(path)) {
      if (names.push(entry.name) >= limit) break; // ends the iteration: the folder is closed
    }
    return names;
  }
  const { opendir } = await import("node:fs/promises"); // not under Deno: its node:fs layer loads slowly
  const dir = await opendir(path);
  try {
    for (let e = await dir.read(); e !== null && names.push(e.name) < limit; e = await dir.read());
  } finally {
    await dir.close();
  }
  return names;
};

/** The operating system: "linux", "darwin", "win32"... */
export const osName = (): string => process.platform;

/** Number of logical CPUs, best effort. */
export { availableParallelism } from "node:os";

/** Whether this runtime has Web Workers (Deno and Bun do; Node has only its own worker_threads). */
export const hasWebWorkers = (): boolean => typeof Worker === "function";

/** Node's `node:worker_threads`, loaded only under Node (where there are no Web Workers). */
interface NodeWorkerThreads {
  readonly Worker: new (url: URL) => NodeWorker;
  readonly parentPort: NodePort | null;
}
interface NodePort {
  on(event: "message", listener: (data: unknown) => void): unknown;
  postMessage(data: unknown, transfer?: ArrayBuffer[]): void;
}
interface NodeWorker extends NodePort {
  on(event: "message" | "messageerror", listener: (data: unknown) => void): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
  terminate(): unknown;
}

const nodeWorkerThreads = (): NodeWorkerThreads | undefined =>
  (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.("node:worker_threads") as
    | NodeWorkerThreads
    | undefined;

/** Whether worker threads can be started here: Web Workers (Deno, Bun), or Node's worker_threads. */
export const hasWorkerThreads = (): boolean => hasWebWorkers() || nodeWorkerThreads() !== undefined;

/** The part of the Web Worker interface the worker pool uses. */
export interface ThreadWorker {
  onmessage: ((event: { readonly data: unknown }) => void) | null;
  onerror: ((event: { readonly message: string; preventDefault(): void }) => void) | null;
  onmessageerror: (() => void) | null;
  postMessage(message: unknown): void;
  terminate(): void;
}

/** Node's worker_threads behind the Web Worker interface (messages are structured clones either way). */
class NodeThreadWorker implements ThreadWorker {
  onmessage: ThreadWorker["onmessage"] = null;
  onerror: ThreadWorker["onerror"] = null;
  onmessageerror: ThreadWorker["onmessageerror"] = null;
  readonly #worker: NodeWorker;

  constructor(threads: NodeWorkerThreads, url: URL) {
    this.#worker = new threads.Worker(url);
    this.#worker.on("message", (data) => this.onmessage?.({ data }));
    this.#worker.on("messageerror", () => this.onmessageerror?.());
    this.#worker.on("error", (error) => this.onerror?.({ message: error.message, preventDefault: () => {} }));
  }

  postMessage(message: unknown): void {
    this.#worker.postMessage(message);
  }

  terminate(): void {
    this.#worker.terminate();
  }
}

/** Starts a module worker thread from `url` (a Web Worker, or a Node worker thread under Node). */
export const startWorker = (url: URL | string): ThreadWorker => {
  if (hasWebWorkers()) return new Worker(url, { type: "module" }) as unknown as ThreadWorker;
  const threads = nodeWorkerThreads();
  if (!threads) throw new Error(`${runtimeName()} has no worker threads`);
  return new NodeThreadWorker(threads, new URL(String(url)));
};

/** A worker thread's side: its messages in, and a way to answer (the global scope, or Node's parentPort). */
export interface WorkerSide {
  onMessage(listener: (data: unknown) => void): void;
  /** Posts `message`, moving (not copying) the buffers in `transfer`. */
  postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
}

/** This worker thread's side of the channel to the thread that started it. */
export const workerSide = (): WorkerSide => {
  const port = hasWebWorkers() ? undefined : nodeWorkerThreads()?.parentPort ?? undefined;
  if (port) {
    return {
      onMessage: (listener) => port.on("message", listener),
      postMessage: (m, t) => port.postMessage(m, t),
    };
  }
  const scope = globalThis as unknown as {
    onmessage: ((event: { readonly data: unknown }) => void) | null;
    postMessage(message: unknown, transfer?: ArrayBuffer[]): void;
  };
  return {
    onMessage: (listener) => {
      scope.onmessage = (event) => listener(event.data);
    },
    postMessage: (m, t) => scope.postMessage(m, t ?? []),
  };
};
