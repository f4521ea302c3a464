/**
 * The DICOM files the equality tests read: every `.dcm` under a folder, recursively, in sorted order.
 *
 * @module
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** The checkout's root folder. */
export const root = new URL("../..", import.meta.url).pathname;

/** Every `.dcm` file under `dir` (recursively), sorted by name at each level. */
export function dicomFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return dicomFiles(path);
    return name.endsWith(".dcm") ? [path] : [];
  });
}
