/**
 * Sharding: which shard an input belongs to, decided by a stable hash of the input's path relative to the
 * `--input` it was found under - the same on every machine, whatever order the files are listed in.
 *
 * @module
 */
import { createHash } from "node:crypto";
import type { Shard } from "./names.ts";

/** The shard (0..count-1) of an input key. */
export const shardOfKey = (key: string, count: number): number => {
  if (count <= 1) return 0;
  const digest = createHash("sha256").update(key).digest();
  // The first 6 bytes as an integer (uniform enough, exact in a double).
  const value = digest.readUIntBE(0, 6);
  return value % count;
};

/** Whether the input with `key` belongs to `shard` (every input does when there is no shard). */
export const inShard = (key: string, shard: Shard | undefined): boolean =>
  shard === undefined || shardOfKey(key, shard.count) === shard.index;
