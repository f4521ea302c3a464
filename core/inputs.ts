/**
 * Input discovery: `--input` files and folders (walked recursively, sorted) and the output name of each.
 *
 * The walk follows symbolic links but visits each real file and folder once (by device and inode): a link
 * back to a folder being walked is a symlink loop, a second path to a file or folder already listed is a
 * duplicate. Nothing is skipped silently: each such path, an unreadable folder and a broken link is listed
 * with an {@link InputFile.problem}, which the runtime turns into that input's ledger entry (inputs whose
 * outputs would land on the run's own files, `dcmflow-run.*`, are refused by the runtime).
 *
 * Hidden entries (names starting with ".", e.g. `.git`, `.DS_Store`) are skipped, except files whose name
 * ends in `.dcm` (`..dcm`, `.scan.dcm`): a DICOM extension says the file was meant as an input.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { basename, dirname, join, relative, resolve, sep } from "node:path";
import { PipelineError } from "./errors.ts";
import { listDir, type PathInfo, statPath } from "./platform.ts";

/** Why an input cannot be run (its ledger entry's error code). */
export type InputProblemCode = "SYMLINK_LOOP" | "DUPLICATE_INPUT" | "READ_ERROR";

/** One file to process. */
export interface InputFile {
  /** Path to read (as given, or joined under the given folder). */
  readonly path: string;
  /**
   * Output path without extension, relative to the output folder: `a/b/x` for `a/b/x.dcm`,
   * `a/b/IM0001` ... kept whole (`IM0001`) when the name has no `.dcm` extension.
   */
  readonly outputBase: string;
  /** Set when the input cannot be run: its ledger entry is this error (and nothing is read or written). */
  readonly problem?: { readonly code: InputProblemCode; readonly message: string };
}

/**
 * `x.dcm` -> `x`; any other name is kept whole (outputs then read `IM0001.npy`, `scan.v2.npy`), and so is a
 * name that would be left empty or all dots (`..dcm` -> `..dcm.npy`).
 */
export const outputBaseName = (relPath: string): string => {
  const stripped = relPath.replace(/\.dcm$/i, "");
  return /^\.*$/.test(basename(stripped)) ? relPath : stripped;
};

/**
 * Lists every regular file under the given paths. Folders are walked recursively in sorted order; hidden
 * entries are skipped (see the module doc), and so is anything inside `exclude` (the output folder). A path
 * that does not exist is a command-line error; every other problem is an entry with a `problem`.
 *
 * The walk is synchronous (platform.ts's `statPath` and `listDir`): it happens before the first input runs,
 * and a synchronous `stat` costs a few microseconds where an asynchronous one costs a hundred.
 */
export const discoverInputs = (
  paths: ReadonlyArray<string>,
  exclude: string,
  io: WalkIo = PLATFORM_IO,
): Effect.Effect<ReadonlyArray<InputFile>, PipelineError> =>
  Effect.try({
    try: () => {
      const walker = new InputWalker(resolve(exclude), io);
      for (const p of paths) walker.input(p);
      return walker.found;
    },
    catch: (e) =>
      e instanceof PipelineError ? e : new PipelineError({ code: "INVALID_ARGUMENTS", message: String(e) }),
  });

/** The file system calls of the walk (tests replace them to simulate what root cannot see). */
export interface WalkIo {
  readonly stat: (path: string) => PathInfo;
  readonly readdir: (path: string) => string[];
}

const PLATFORM_IO: WalkIo = { stat: statPath, readdir: listDir };

/** The walk: what was found, and which real files and folders were seen (device and inode). */
class InputWalker {
  readonly found: InputFile[] = [];
  private readonly files = new Map<string, string>();
  private readonly folders = new Map<string, string>();

  constructor(private readonly excluded: string, private readonly io: WalkIo) {}

  /** `stat` that follows links, or the error (never throws). */
  private statOf(path: string): PathInfo | NodeJS.ErrnoException {
    try {
      return this.io.stat(path);
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
  }

  /** One `--input` path. */
  input(p: string): void {
    const info = this.statOf(p);
    if (info instanceof Error) {
      throw new PipelineError({ code: "INVALID_ARGUMENTS", message: `--input ${p}: no such file or folder` });
    }
    if (info.isDirectory()) this.folder(p, "", info, []);
    else this.file(p, outputBaseName(basename(p)), info);
  }

  /** Whether `name` in the folder whose absolute path is `resolved` is, or is inside, the excluded folder. */
  private isExcludedIn(resolved: string, name: string): boolean {
    const r = resolved.endsWith(sep) ? resolved + name : resolved + sep + name;
    return r === this.excluded || r.startsWith(this.excluded + sep);
  }

  /** A folder: each entry in sorted order, unless it is a loop or was walked under another path. */
  private folder(dir: string, rel: string, info: PathInfo, ancestors: ReadonlyArray<string>): void {
    const key = realKey(info);
    if (ancestors.includes(key)) return this.problem(dir, rel, "SYMLINK_LOOP", symlinkLoop(dir));
    const first = this.folders.get(key);
    if (first !== undefined) {
      return this.problem(
        dir,
        rel,
        "DUPLICATE_INPUT",
        `the same folder as ${
          displayPath(first)
        } (a link or a repeated --input); its files are listed once, under ${displayPath(first)}`,
      );
    }
    this.folders.set(key, dir);
    let names: string[];
    try {
      names = this.io.readdir(dir);
    } catch (e) {
      return this.problem(
        dir,
        rel,
        "READ_ERROR",
        `cannot list this folder (${reason(e as NodeJS.ErrnoException)}); its files were not processed`,
      );
    }
    const inside = [...ancestors, key];
    const resolved = resolve(dir);
    for (const name of names.sort()) this.entry(dir, resolved, name, rel, inside);
  }

  /**
   * One folder entry: a file, a folder, or a problem (broken link, unreadable). `resolved` is the folder's
   * absolute path (resolved once per folder, not per entry).
   */
  private entry(
    dir: string,
    resolved: string,
    name: string,
    rel: string,
    ancestors: ReadonlyArray<string>,
  ): void {
    const path = join(dir, name);
    if (this.isExcludedIn(resolved, name)) return;
    const relPath = rel === "" ? name : `${rel}/${name}`;
    const info = this.statOf(path);
    if (info instanceof Error) {
      if (name.startsWith(".")) return;
      const loop = info.code === "ELOOP";
      return this.problem(
        path,
        relPath,
        loop ? "SYMLINK_LOOP" : "READ_ERROR",
        loop ? symlinkLoop(path) : `cannot read it (${reason(info)}; a link whose target is missing?)`,
      );
    }
    const hidden = name.startsWith(".") && !(info.isFile() && /\.dcm$/i.test(name));
    if (hidden) return;
    if (info.isDirectory()) this.folder(path, relPath, info, ancestors);
    else if (info.isFile()) this.file(path, outputBaseName(relPath), info);
  }

  /** A regular file, listed once whatever the number of paths to it. */
  private file(path: string, outputBase: string, info: PathInfo): void {
    const key = realKey(info);
    const first = this.files.get(key);
    if (first !== undefined) {
      this.found.push({
        path,
        outputBase,
        problem: {
          code: "DUPLICATE_INPUT",
          message: `the same file as ${
            displayPath(first)
          } (a link or a repeated --input); it is processed once, as ${displayPath(first)}`,
        },
      });
      return;
    }
    this.files.set(key, path);
    this.found.push({ path, outputBase });
  }

  private problem(path: string, rel: string, code: InputProblemCode, message: string): void {
    this.found.push({
      path,
      outputBase: rel === "" ? outputBaseName(basename(path)) : rel,
      problem: { code, message },
    });
  }
}

/** Device and inode: the identity of a file or folder whatever the path. */
const realKey = (info: PathInfo): string => `${info.dev}:${info.ino}`;

const symlinkLoop = (path: string) =>
  `a symbolic link back into a folder that contains it (a symlink loop under ${
    displayPath(dirname(path))
  }); ` +
  "not followed";

/** A file system error in words. */
const reason = (e: NodeJS.ErrnoException): string =>
  e.code === "EACCES" || e.code === "EPERM"
    ? "permission denied"
    : e.code === "ENOENT"
    ? "not found"
    : e.message;

/** The path of `path` relative to the current folder, for messages. */
export const displayPath = (path: string): string => relative(".", path) || path;
