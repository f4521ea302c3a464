/**
 * The V8 flags every launch point of the CLI passes (deno.json's tasks, the npm bin's shebang, the container's
 * entrypoint, the Slurm scripts, the benchmarks): written here once; `tests/v8_flags_test.ts` fails when a
 * launch point drifts from this list. Measured on the 2-core development machine (docs/PERFORMANCE.md).
 *
 * - `--max-semi-space-size=4`: a small young generation per thread (V8 would grow it to 32 MB each), for a
 *   flat peak over long runs.
 * - `--no-concurrent-recompilation`: optimising compiles on the thread that needs them; on 2 cores a
 *   background compile thread competed with the worker thread.
 * - `--no-enable-lazy-source-positions`: effect reads an Error's stack while its modules load, and V8's first
 *   stack read in a thread would otherwise re-parse the whole bundle to find positions (35-48 ms a thread).
 * - `--heap-growing-percent=50`: after a full collection, the old generation may grow by half its live size
 *   (at least 8 MB) before the next, instead of up to 4 times it. The calling thread's garbage (inputs,
 *   answers, ledger lines that outlived a young collection) is then collected every ~8 MB instead of piling
 *   up to V8's next limit (~62 MB after the first collection): 100,000 small inputs peak at 140 MiB instead
 *   of 172, in the same time (10.87 / 10.90 s, medians of 3); nothing changes for shorter runs.
 *
 * @module
 */

/** The flags, each as V8 spells it. */
export const V8_FLAGS: ReadonlyArray<string> = [
  "--max-semi-space-size=4",
  "--no-concurrent-recompilation",
  "--no-enable-lazy-source-positions",
  "--heap-growing-percent=50",
];

/** Deno's form: one `--v8-flags=` argument. */
export const DENO_V8_FLAGS: string = `--v8-flags=${V8_FLAGS.join(",")}`;
