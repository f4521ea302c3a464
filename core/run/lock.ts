/**
 * The output folder's lock: a live run holds `dcmflow-run.lock` (a shard `dcmflow-run.shard-I-of-N.lock`),
 * so a second run into the same folder is refused instead of interleaving with it. A lock whose process is
 * gone (same host, pid not alive) is stale and taken over. An unsharded run and shards of the same folder
 * exclude each other; shards of one split run side by side.
 *
 * @module
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { PipelineError } from "../errors.ts";
import { pid, processAlive } from "../platform.ts";
import { lockName, type Shard } from "./names.ts";

/** What a lock file says about its holder. */
interface LockInfo {
  readonly pid: number;
  readonly host: string;
  readonly started: string;
  readonly tag: string;
}

/** A held lock; `release` removes it. */
export interface HeldLock {
  /** True when a dead run's lock was taken over (its temporary files may be lying around). */
  readonly tookOver: boolean;
  readonly release: () => void;
}

const isAlive = (info: LockInfo): boolean | "unknown" =>
  info.host !== hostname() ? "unknown" : processAlive(info.pid);

const readLock = (path: string): LockInfo | undefined => {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as LockInfo;
  } catch {
    return undefined;
  }
};

const busy = (dir: string, file: string, info: LockInfo | undefined, alive: boolean | "unknown") =>
  new PipelineError({
    code: "OUTPUT_LOCKED",
    message: alive === "unknown"
      ? `${dir} is locked by a dcmflow run on host ${info?.host} (pid ${info?.pid}, started ${info?.started}); ` +
        `if that run is gone, remove ${join(dir, file)} and run again`
      : `another dcmflow run (pid ${info?.pid}, started ${info?.started}) is writing to ${dir}; wait for it ` +
        "to finish, or write to another --out",
  });

/** The live holder of a lock file, if any. */
const liveHolder = (path: string) => {
  const info = readLock(path);
  if (!info) return undefined;
  const alive = isAlive(info);
  return alive === false ? undefined : { info, alive };
};

/** Locks that exclude this run: the unsharded lock for shards, every shard lock for an unsharded run. */
const conflicting = (dir: string, shard?: Shard): string[] => {
  if (shard) return [lockName()];
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => /^dcmflow-run\.shard-\d+-of-\d+\.lock$/.test(n));
};

/** Takes the lock of `shard` (or of the whole folder) in `dir`, which must exist. */
export const acquireLock = (dir: string, shard?: Shard): HeldLock => {
  for (const other of conflicting(dir, shard)) {
    const holder = liveHolder(join(dir, other));
    if (holder) throw busy(dir, other, holder.info, holder.alive);
  }
  const file = lockName(shard);
  const path = join(dir, file);
  const info: LockInfo = {
    pid: pid(),
    host: hostname(),
    started: new Date().toISOString(),
    tag: file,
  };
  let tookOver = false;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify(info) + "\n");
      closeSync(fd);
      return { tookOver, release: () => rmSync(path, { force: true }) };
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
      const holder = liveHolder(path);
      if (holder) throw busy(dir, file, holder.info, holder.alive);
      rmSync(path, { force: true }); // stale: its run is gone
      tookOver = true;
    }
  }
  throw busy(dir, file, readLock(path), true);
};
