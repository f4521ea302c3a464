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
import { indexInSorted } from "./sorted.ts";
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

/** An input as a streamed walk lists it (see {@link walkInputs}). */
export interface ListedInput extends InputFile {
  /**
   * Set when another entry of the same folder may have the same output name (`x` beside `x.dcm`): only such
   * inputs of one `--input` can conflict with each other (see {@link InputCount.single}).
   */
  readonly shared?: true;
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
    try: () => Array.from(walkInputs(paths, exclude, undefined, io)),
    catch: asArgumentError,
  });

/**
 * The walk of {@link discoverInputs}, an input at a time: a folder is listed when the walk reaches it, so a
 * run can consume the inputs as they are found instead of holding the whole list. Throws a
 * {@link PipelineError} when it reaches an `--input` that does not exist.
 *
 * With the {@link InputCount} of the same paths (from {@link countInputs}), the walk holds nothing per
 * file: only the files the count saw under more than one path are remembered (to list the later paths as
 * duplicates, as {@link discoverInputs} does), and each file that may share its output name with a sibling
 * is marked {@link ListedInput.shared}.
 */
export const walkInputs = (
  paths: ReadonlyArray<string>,
  exclude: string,
  counted?: InputCount,
  io: WalkIo = PLATFORM_IO,
): Iterable<ListedInput> => ({
  [Symbol.iterator]: () => {
    const files = counted ? new RepeatedFiles(counted.repeated) : new AllFiles();
    const listing = counted?.firstListing ? new ListedOnce(io, counted.firstListing) : io;
    return new InputWalker(resolve(exclude), listing, files, counted !== undefined).all(paths);
  },
});

/** What {@link countInputs} found. */
export interface InputCount {
  /** Inputs kept (e.g. those of a shard). */
  readonly total: number;
  /** The real files (device and inode) listed under more than one path. */
  readonly repeated: RepeatedKeys;
  /** One `--input`: its inputs can only have the same output name as a sibling in their folder. */
  readonly single: boolean;
  /**
   * The first folder the count listed (the first `--input` that is a folder), its names sorted: the walk that
   * follows starts there and takes them instead of listing it again (they are held until the walk ends: ~40
   * bytes a name). Deno builds an object of ~430 bytes for every entry of a listing, all at once: listed twice,
   * a flat folder of 100,000 files made two 43 MB bursts of garbage (peak 207 MiB and 20.7 s, against 189 MiB
   * and 16.3 s listed once; no change measured at 10,000).
   */
  readonly firstListing?: FolderListing;
}

/** A folder's names, as the walk lists them (sorted). */
export interface FolderListing {
  readonly dir: string;
  readonly names: ReadonlyArray<string>;
}

/**
 * How many inputs the walk of `paths` lists (`keep` says which count, by path and output name: e.g. those of
 * a shard; a file's second path is not marked a duplicate yet when `keep` sees it), holding none of them: the
 * folders are walked as {@link walkInputs} walks them, and each file's device and inode go into a flat table
 * (no string, no object per file) that tells which files are listed under more than one path. A missing
 * `--input` is a command-line error, as in {@link discoverInputs}.
 */
export const countInputs = (
  paths: ReadonlyArray<string>,
  exclude: string,
  keep: (input: InputFile) => boolean,
  io: WalkIo = PLATFORM_IO,
): Effect.Effect<InputCount, PipelineError> =>
  Effect.try({
    try: () => {
      const files = new CountedFiles();
      const listing = new FirstListingKept(io);
      let total = 0;
      for (const input of new InputWalker(resolve(exclude), listing, files, false).all(paths)) {
        if (keep(input)) total++;
      }
      const firstListing = listing.first;
      return {
        total,
        repeated: files.repeated,
        single: paths.length === 1,
        ...(firstListing ? { firstListing } : {}),
      };
    },
    catch: asArgumentError,
  });

const asArgumentError = (e: unknown): PipelineError =>
  e instanceof PipelineError ? e : new PipelineError({ code: "INVALID_ARGUMENTS", message: String(e) });

/** The file system calls of the walk (tests replace them to simulate what root cannot see). */
export interface WalkIo {
  readonly stat: (path: string) => PathInfo;
  readonly readdir: (path: string) => string[];
}

const PLATFORM_IO: WalkIo = { stat: statPath, readdir: listDir };

/** The walk's calls, keeping the first listing they made (sorted in place by the walk as it goes on). */
class FirstListingKept implements WalkIo {
  first: FolderListing | undefined;

  constructor(private readonly io: WalkIo) {}

  stat = (path: string): PathInfo => this.io.stat(path);

  readdir = (dir: string): string[] => {
    const names = this.io.readdir(dir);
    this.first ??= { dir, names };
    return names;
  };
}

/**
 * The walk's calls, answering the listing of `kept.dir` once from `kept` (sorted already: the count's walk
 * sorted it in place). A file gone since the count is then that file's `READ_ERROR` entry, and the walk lists
 * exactly the inputs the count counted in that folder.
 */
class ListedOnce implements WalkIo {
  #kept: FolderListing | undefined;

  constructor(private readonly io: WalkIo, kept: FolderListing) {
    this.#kept = kept;
  }

  stat = (path: string): PathInfo => this.io.stat(path);

  readdir = (dir: string): string[] => {
    const kept = this.#kept;
    if (kept?.dir !== dir) return this.io.readdir(dir);
    this.#kept = undefined;
    return kept.names as string[];
  };
}

/**
 * The walk: yields what it finds, in order, and remembers which real folders (and, when it checks for
 * duplicate files, which real files) it saw (device and inode).
 */
class InputWalker {
  private readonly folders = new Map<string, string>();

  /**
   * @param files which real files were listed (duplicates)
   * @param streamed the inputs were counted before this walk, which runs while the run goes: the files that
   *   may share their output name with a sibling are marked, and an `--input` gone since the count is that
   *   input's `READ_ERROR` entry, not a command-line error thrown in the middle of the run
   */
  constructor(
    private readonly excluded: string,
    private readonly io: WalkIo,
    private readonly files: FileCheck,
    private readonly streamed: boolean,
  ) {}

  /** Every `--input` path, in order. */
  *all(paths: ReadonlyArray<string>): Generator<ListedInput, void, undefined> {
    for (const p of paths) yield* this.input(p);
  }

  /** `stat` that follows links, or the error (never throws). */
  private statOf(path: string): PathInfo | NodeJS.ErrnoException {
    try {
      return this.io.stat(path);
    } catch (e) {
      return e as NodeJS.ErrnoException;
    }
  }

  /** One `--input` path. */
  private *input(p: string): Generator<ListedInput, void, undefined> {
    const info = this.statOf(p);
    if (info instanceof Error && this.streamed) {
      const why =
        `--input ${p} was there when the run counted its inputs and cannot be read now (${info.message})`;
      return yield problem(p, "", "READ_ERROR", why);
    }
    if (info instanceof Error) {
      throw new PipelineError({ code: "INVALID_ARGUMENTS", message: `--input ${p}: no such file or folder` });
    }
    if (info.isDirectory()) yield* this.folder(p, "", info, []);
    else yield this.file(p, outputBaseName(basename(p)), info);
  }

  /** Whether `name` in the folder whose absolute path is `resolved` is, or is inside, the excluded folder. */
  private isExcludedIn(resolved: string, name: string): boolean {
    const r = resolved.endsWith(sep) ? resolved + name : resolved + sep + name;
    return r === this.excluded || r.startsWith(this.excluded + sep);
  }

  /** A folder: each entry in sorted order, unless it is a loop or was walked under another path. */
  private *folder(
    dir: string,
    rel: string,
    info: PathInfo,
    ancestors: ReadonlyArray<string>,
  ): Generator<ListedInput, void, undefined> {
    const key = realKey(info);
    if (ancestors.includes(key)) return yield problem(dir, rel, "SYMLINK_LOOP", symlinkLoop(dir));
    const first = this.folders.get(key);
    if (first !== undefined) {
      return yield problem(
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
      return yield problem(
        dir,
        rel,
        "READ_ERROR",
        `cannot list this folder (${reason(e as NodeJS.ErrnoException)}); its files were not processed`,
      );
    }
    const inside = [...ancestors, key];
    const resolved = resolve(dir);
    const siblings = this.streamed ? new Siblings(names.sort()) : undefined;
    for (const name of siblings?.names ?? names.sort()) {
      yield* this.entry(dir, resolved, name, rel, inside, siblings);
    }
  }

  /**
   * One folder entry: a file, a folder, or a problem (broken link, unreadable). `resolved` is the folder's
   * absolute path (resolved once per folder, not per entry).
   */
  private *entry(
    dir: string,
    resolved: string,
    name: string,
    rel: string,
    ancestors: ReadonlyArray<string>,
    siblings?: Siblings,
  ): Generator<ListedInput, void, undefined> {
    const path = join(dir, name);
    if (this.isExcludedIn(resolved, name)) return;
    const relPath = rel === "" ? name : `${rel}/${name}`;
    const info = this.statOf(path);
    if (info instanceof Error) {
      if (name.startsWith(".")) return;
      const loop = info.code === "ELOOP";
      return yield problem(
        path,
        relPath,
        loop ? "SYMLINK_LOOP" : "READ_ERROR",
        loop ? symlinkLoop(path) : `cannot read it (${reason(info)}; a link whose target is missing?)`,
      );
    }
    const hidden = name.startsWith(".") && !(info.isFile() && /\.dcm$/i.test(name));
    if (hidden) return;
    if (info.isDirectory()) yield* this.folder(path, relPath, info, ancestors);
    else if (info.isFile()) {
      const file = this.file(path, outputBaseName(relPath), info);
      yield siblings?.share(name) ? { ...file, shared: true } : file;
    }
  }

  /** A regular file, listed once whatever the number of paths to it. */
  private file(path: string, outputBase: string, info: PathInfo): InputFile {
    const first = this.files.firstPath(info, path);
    if (first === undefined) return { path, outputBase };
    return {
      path,
      outputBase,
      problem: {
        code: "DUPLICATE_INPUT",
        message: `the same file as ${
          displayPath(first)
        } (a link or a repeated --input); it is processed once, as ${displayPath(first)}`,
      },
    };
  }
}

/** Which real files the walk listed: the path a file was first listed under, when it was. */
interface FileCheck {
  /** The path the file of `info` was first listed under; undefined the first time (and `path` noted). */
  firstPath(info: PathInfo, path: string): string | undefined;
}

/** Every file's first path, by device and inode. */
class AllFiles implements FileCheck {
  readonly #first = new Map<string, string>();

  firstPath(info: PathInfo, path: string): string | undefined {
    const key = realKey(info);
    const first = this.#first.get(key);
    if (first === undefined) this.#first.set(key, path);
    return first;
  }
}

/** Notes every file in a flat table; never answers (a count lists duplicates all the same). */
class CountedFiles implements FileCheck {
  readonly #seen = new RealKeyTable();
  readonly repeated = new RepeatedKeys();

  firstPath(info: PathInfo): undefined {
    if (this.#seen.add(info.dev, info.ino)) this.repeated.add(info);
    return undefined;
  }
}

/** The first paths of the files a count saw more than once; nothing for the others (they are listed once). */
class RepeatedFiles implements FileCheck {
  readonly #first = new AllFiles();

  constructor(readonly repeated: RepeatedKeys) {}

  firstPath(info: PathInfo, path: string): string | undefined {
    return this.repeated.has(info) ? this.#first.firstPath(info, path) : undefined;
  }
}

/** Real files (device and inode), few: those seen under more than one path. */
export class RepeatedKeys {
  readonly #inodes = new Set<number>();
  readonly #keys = new Set<string>();

  add(info: PathInfo): void {
    this.#inodes.add(info.ino);
    this.#keys.add(realKey(info));
  }

  /** Whether the file is one of them (no string made unless its inode number is). */
  has(info: PathInfo): boolean {
    return this.#inodes.has(info.ino) && this.#keys.has(realKey(info));
  }
}

/**
 * A set of device and inode pairs in two flat arrays (open addressing): 16 bytes a file outside the
 * JavaScript heap, where a map of `dev:ino` strings costs ~100 bytes a file inside it.
 */
export class RealKeyTable {
  #keys = new Float64Array(2 * 1024);
  #used = new Uint8Array(1024);
  #size = 0;

  /** Adds the pair; true when it was there already. */
  add(dev: number, ino: number): boolean {
    if (2 * (this.#size + 1) > this.#used.length) this.#grow();
    const mask = this.#used.length - 1;
    for (let slot = slotOf(dev, ino) & mask;; slot = (slot + 1) & mask) {
      if (this.#used[slot] === 0) {
        this.#used[slot] = 1;
        this.#keys[2 * slot] = dev;
        this.#keys[2 * slot + 1] = ino;
        this.#size++;
        return false;
      }
      if (this.#keys[2 * slot] === dev && this.#keys[2 * slot + 1] === ino) return true;
    }
  }

  #grow(): void {
    const keys = this.#keys;
    const used = this.#used;
    this.#keys = new Float64Array(keys.length * 2);
    this.#used = new Uint8Array(used.length * 2);
    this.#size = 0;
    for (let slot = 0; slot < used.length; slot++) {
      if (used[slot] === 1) this.add(keys[2 * slot], keys[2 * slot + 1]);
    }
  }
}

/** A hash of a device and inode pair (both numbers, up to 2^53). */
const slotOf = (dev: number, ino: number): number => {
  const low = ino >>> 0;
  const high = (ino / 4294967296) >>> 0;
  return (Math.imul(low ^ Math.imul(high, 0x85ebca6b), 0x9e3779b1) ^ Math.imul(dev >>> 0, 0xc2b2ae35)) >>> 0;
};

/**
 * The names in one folder, sorted: which of them may have the output name of another (`x` and `x.dcm`, `x.dcm`
 * and `x.DCM`), found by binary search in the listing the walk holds anyway (no set of names).
 */
class Siblings {
  /** The spellings of the `.dcm` extension in this folder (usually one). */
  readonly #extensions: string[] = [];

  constructor(readonly names: ReadonlyArray<string>) {
    for (const name of names) {
      const ext = name.slice(-4);
      if (/^\.dcm$/i.test(ext) && !this.#extensions.includes(ext)) this.#extensions.push(ext);
    }
  }

  /** Whether another name in the folder has the same output name as `name`. */
  share(name: string): boolean {
    if (this.#extensions.length === 0) return false;
    const base = outputBaseName(name);
    const candidates = [base, ...this.#extensions.map((ext) => base + ext)];
    return candidates.some((c) => c !== name && outputBaseName(c) === base && this.#has(c));
  }

  #has(name: string): boolean {
    return indexInSorted(this.names, name) >= 0;
  }
}

/** An input that cannot be run. */
const problem = (path: string, rel: string, code: InputProblemCode, message: string): InputFile => ({
  path,
  outputBase: rel === "" ? outputBaseName(basename(path)) : rel,
  problem: { code, message },
});

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
