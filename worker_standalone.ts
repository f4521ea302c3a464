/**
 * The worker threads' entry for pipelines without `plugins:`: the same as `worker.ts`, but bundled with its
 * own copy of every package (`dist/worker_standalone.js`), which loads in a fraction of the time the
 * shared, external packages take. A pipeline with plugins uses `worker.ts`: a plugin's stages must be made
 * with the copy of `effect` dcmflow uses.
 *
 * @module
 */
import "./worker.ts";
