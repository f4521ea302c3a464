/**
 * The one module that knows which JavaScript runtime it is on.
 *
 * Everything else uses `node:` built-ins (available in Deno, Bun and Node) and Effect services, so the
 * CPU path runs unchanged under Deno and Bun.
 *
 * @module
 */
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

/** Number of logical CPUs, best effort. */
export { availableParallelism } from "node:os";

/** Whether this runtime has Web Workers (Deno and Bun do; Node has only its own worker_threads). */
export const hasWebWorkers = (): boolean => typeof Worker === "function";
