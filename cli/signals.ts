/**
 * SIGINT / SIGTERM during `dcmflow run`: the first one stops the run gracefully (no new inputs; those in
 * flight finish; the ledger is written; exit 130 / 143), a second one exits at once (temporary files are
 * then removed by the next run into the same folder).
 *
 * @module
 */
import { exitNow, onSignal, writeStderr } from "../core/platform.ts";

/** An abort signal raised by the first SIGINT/SIGTERM; `dispose` stops listening. */
export const stopOnSignals = (): { readonly signal: AbortSignal; readonly dispose: () => void } => {
  const controller = new AbortController();
  const stop = (name: "SIGINT" | "SIGTERM") => () => {
    if (controller.signal.aborted) {
      writeStderr(`\n${name} again: exiting now\n`);
      exitNow(name === "SIGINT" ? 130 : 143);
    }
    writeStderr(`\n${name}: finishing the inputs in flight, then writing the ledger (again to quit now)\n`);
    controller.abort(name);
  };
  const off = [onSignal("SIGINT", stop("SIGINT")), onSignal("SIGTERM", stop("SIGTERM"))];
  return { signal: controller.signal, dispose: () => off.forEach((f) => f()) };
};
