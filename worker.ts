/**
 * The entry module of dcmflow's worker threads (the CPU path runs one per core): it serves the run's rounds
 * of inputs with the built-in stages, plus the plugins the pipeline names (loaded again on this thread).
 *
 * @module
 */
import { makeRegistry } from "./core/registry.ts";
import { serveWorker } from "./core/run/worker.ts";
import { builtinStages } from "./plugins/mod.ts";

serveWorker({ ...makeRegistry(builtinStages), portable: true });
