/**
 * Grouped inputs (`group: series`): several files that make one image, as one unit of work.
 *
 * The runtime knows no DICOM: the pipeline's source stage groups the files (its {@link SourceGroup}).
 * Before the first input runs, every file is scanned (`scan`: a small header record) and the records are
 * partitioned (`partition`: groups with ordered members, warnings, or an error); each group then runs as one
 * input whose image `runGroup` makes from its member files. A group is one unit everywhere: one task for a
 * worker (the {@link FileGroup} travels with it, as plain data), one shard decision (by its output name),
 * one ledger entry, one resume decision - a series is never split.
 *
 * - Ledger: one entry per group. `input` is the group's label, `<the members' common folder>/<key>`;
 *   `members` lists the files in the order the source stage used them; `warnings` what it reported (splits,
 *   copies left out, irregular spacing...). A file that cannot be scanned gets an error entry of its own,
 *   and a group that cannot be made (e.g. missing slices) an error entry with its members.
 * - Outputs: `DIR/<the members' common folder, relative to --input>/<key>.<ext>`; keys are unique within a
 *   run, so outputs never collide.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import { readFileSync } from "node:fs";
import { posix } from "node:path";
import { failureOf } from "./cpu-stage.ts";
import { type CodedError, InputReadError, toCodedError } from "./errors.ts";
import type { InputFile } from "./inputs.ts";
import type { Plan } from "./planner.ts";
import { providePlugins } from "./planner.ts";
import { joinWarnings, type LedgerEntry } from "./session.ts";
import type { FileGroup, SourceFile, Upload } from "./stage.ts";
import type { Image } from "./tensor.ts";

/** One input made of several files: its group, as the source stage's `partition` made it. */
export interface GroupInput extends InputFile {
  readonly group: FileGroup;
}

/** A unit whose ledger entry is known before anything runs (a file that cannot be scanned, a bad group). */
export interface FailedUnit extends InputFile {
  readonly failed: LedgerEntry;
}

/** True when `input` (an input file or a task made of one) is a group of files. */
export const isGroupInput = <T extends InputFile>(input: T): input is T & { readonly group: FileGroup } =>
  (input as { group?: FileGroup }).group !== undefined;

/** True when `input`'s ledger entry is already known. */
export const isFailedUnit = (input: InputFile): input is FailedUnit =>
  (input as { failed?: LedgerEntry }).failed !== undefined;

const readFile = (path: string): Effect.Effect<Uint8Array, InputReadError> =>
  Effect.try({
    try: () => new Uint8Array(readFileSync(path)),
    catch: (e) =>
      new InputReadError({
        code: "READ_ERROR",
        message: `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`,
      }),
  });

/** The longest common folder of some `/`-separated paths ("" when none). */
const commonFolder = (paths: ReadonlyArray<string>): string => {
  const dirs = paths.map((p) => posix.dirname(p.replace(/\\/g, "/")).split("/"));
  const first = dirs[0] ?? [];
  let n = first.length;
  for (const d of dirs) {
    let k = 0;
    while (k < n && k < d.length && d[k] === first[k]) k++;
    n = k;
  }
  const common = first.slice(0, n).join("/");
  return common === "." ? "" : common;
};

const joinPath = (folder: string, name: string) => (folder === "" ? name : `${folder}/${name}`);

/** The members and warnings of a group, for its ledger entry. */
export const groupInfo = (
  group: FileGroup | undefined,
): { readonly members?: ReadonlyArray<string>; readonly warnings?: ReadonlyArray<string> } =>
  group ? { members: group.members, ...(group.warnings.length > 0 ? { warnings: group.warnings } : {}) } : {};

/** A ledger entry with its group's members and warnings (unchanged for plain files). */
export const withGroupInfo = (input: InputFile, entry: LedgerEntry): LedgerEntry => {
  if (!isGroupInput(input)) return entry;
  const group = groupInfo(input.group);
  const warnings = joinWarnings(group.warnings ?? [], entry.warnings ?? []);
  return { ...entry, ...group, ...(warnings.length > 0 ? { warnings } : {}) };
};

/** The unit of a file or group that failed before running. */
const failedUnit = (
  path: string,
  outputBase: string,
  error: CodedError,
  stage: string,
  group?: FileGroup,
) => ({
  path,
  outputBase,
  failed: {
    input: path,
    status: "error",
    outputs: [],
    error: { code: error.code, message: error.message, stage },
    ms: 0,
    ...groupInfo(group),
  } satisfies LedgerEntry,
});

/** Scans every file with the source stage's `scan`; a file that fails becomes a failed unit. */
const scanAll = (plan: Plan, files: ReadonlyArray<InputFile>) =>
  Effect.gen(function* () {
    const grouping = plan.source.stage.group!;
    const failed: FailedUnit[] = [];
    const scanned: Array<{ readonly path: string; readonly record: unknown }> = [];
    for (const file of files) {
      const exit = yield* Effect.exit(
        Effect.flatMap(readFile(file.path), (bytes) =>
          grouping.scan({ path: file.path, bytes }, plan.source.params))
          .pipe(providePlugins(plan)),
      );
      if (exit._tag === "Success") {
        scanned.push({ path: file.path, record: exit.value });
      } else {
        const error = toCodedError(failureOf(exit.cause), "INTERNAL_ERROR");
        failed.push(failedUnit(file.path, file.outputBase, error, plan.source.label));
      }
    }
    return { scanned, failed };
  });

/**
 * The units of work of a run: the files themselves when the pipeline does not group, else one
 * {@link GroupInput} per group the source stage makes, and a {@link FailedUnit} for each file or group that
 * fails before running (see the module documentation).
 */
export const groupInputs = (
  plan: Plan,
  files: ReadonlyArray<InputFile>,
): Effect.Effect<ReadonlyArray<InputFile>> =>
  Effect.gen(function* () {
    const grouping = plan.source.stage.group;
    if (plan.pipeline.group === "file" || !grouping) return files;
    // Inputs the walk could not list (symlink loops, duplicates, unreadable folders) stay as they are.
    const { scanned, failed } = yield* scanAll(plan, files.filter((f) => !f.problem));
    const bases = new Map(files.map((f) => [f.path, f.outputBase]));
    const units: InputFile[] = [...files.filter((f) => f.problem), ...failed];
    for (const group of grouping.partition(scanned, plan.source.params, plan.pipeline.group)) {
      const path = joinPath(commonFolder(group.members), group.key);
      const outputBase = joinPath(commonFolder(group.members.map((m) => bases.get(m) ?? m)), group.key);
      const unit: FailedUnit | GroupInput = group.error
        ? failedUnit(path, outputBase, group.error, plan.source.label, group)
        : { path, outputBase, group };
      units.push(unit);
    }
    return units;
  });

/** The image of a group: its source stage's `runGroup` over the member files. */
export const runGroupInput = (plan: Plan, group: FileGroup): Effect.Effect<Image, CodedError> =>
  Effect.flatMap(
    Effect.forEach(
      group.members,
      (path) => Effect.map(readFile(path), (bytes): SourceFile => ({ path, bytes })),
    ),
    (files) => plan.source.stage.group!.runGroup(files, group, plan.source.params),
  ).pipe(providePlugins(plan));

/** The GPU upload of a group: its image's values as f32. */
export const groupUpload = (plan: Plan, group: FileGroup): Effect.Effect<Upload, CodedError> =>
  Effect.map(runGroupInput(plan, group), ({ data, ...image }): Upload => ({
    image,
    pixels: { type: "f32", data },
  }));
