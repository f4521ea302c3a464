/**
 * Class label files: one label per line, blank lines ignored, paths relative to the pipeline file.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";

/** Resolves a path written in a pipeline against the pipeline file's folder. */
export const resolveFromPipeline = (pipelineDir: string, path: string): string =>
  isAbsolute(path) ? path : resolve(pipelineDir, path);

/** Reads a labels file written in a pipeline; fails with a message when it is missing. */
export const readLabels = (
  pipelineDir: string,
  path: string,
): Effect.Effect<ReadonlyArray<string>, string> => {
  const file = resolveFromPipeline(pipelineDir, path);
  if (!existsSync(file)) return Effect.fail(`labels file ${file} not found`);
  return Effect.sync(() =>
    readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0)
  );
};
