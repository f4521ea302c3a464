/**
 * Input discovery: `--input` files and folders (walked recursively, sorted) and the output name of each.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as FileSystem from "effect/FileSystem";
import { basename, join, relative, resolve, sep } from "node:path";
import { PipelineError } from "./errors.ts";

/** One file to process. */
export interface InputFile {
  /** Path to read (as given, or joined under the given folder). */
  readonly path: string;
  /**
   * Output path without extension, relative to the output folder: `a/b/x` for `a/b/x.dcm`,
   * `a/b/IM0001` ... kept whole (`IM0001`) when the name has no `.dcm` extension.
   */
  readonly outputBase: string;
}

/** `x.dcm` -> `x`; any other name is kept whole (outputs then read `IM0001.npy`, `scan.v2.npy`). */
export const outputBaseName = (relPath: string): string => relPath.replace(/\.dcm$/i, "");

/**
 * Lists every regular file under the given paths. Folders are walked recursively in sorted order; hidden
 * entries (".name") are skipped, and so is anything inside `exclude` (the output folder). A path that does
 * not exist is a command-line error.
 */
export const discoverInputs = (
  paths: ReadonlyArray<string>,
  exclude: string,
): Effect.Effect<ReadonlyArray<InputFile>, PipelineError, FileSystem.FileSystem> =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem;
    const excluded = resolve(exclude);
    const isExcluded = (p: string) => {
      const r = resolve(p);
      return r === excluded || r.startsWith(excluded + sep);
    };
    const found: InputFile[] = [];
    const walk = (dir: string, rel: string): Effect.Effect<void, never> =>
      Effect.gen(function* () {
        const entries = yield* fs.readDirectory(dir).pipe(Effect.orElseSucceed(() => [] as string[]));
        for (const name of entries.sort()) {
          if (name.startsWith(".")) continue;
          const path = join(dir, name);
          if (isExcluded(path)) continue;
          const info = yield* fs.stat(path).pipe(Effect.option);
          if (info._tag === "None") continue;
          const relPath = rel === "" ? name : `${rel}/${name}`;
          if (info.value.type === "Directory") yield* walk(path, relPath);
          else if (info.value.type === "File") found.push({ path, outputBase: outputBaseName(relPath) });
        }
      });
    for (const p of paths) {
      const info = yield* fs.stat(p).pipe(
        Effect.mapError(() =>
          new PipelineError({
            code: "INVALID_ARGUMENTS",
            message: `--input ${p}: no such file or folder`,
          })
        ),
      );
      if (info.type === "Directory") yield* walk(p, "");
      else found.push({ path: p, outputBase: outputBaseName(basename(p)) });
    }
    return found;
  });

/** The path of `path` relative to the current folder, for messages. */
export const displayPath = (path: string): string => relative(".", path) || path;
