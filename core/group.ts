/**
 * Grouped inputs (`group: series`): several files that make one image, as one unit of work.
 *
 * The runtime knows no DICOM: the pipeline's source stage groups the files (its {@link SourceGroup}).
 * Before the first input runs, every file is scanned (`scan`: a small header record) and the records are
 * partitioned (`partition`: groups with ordered members, warnings, or an error); each group then runs as one
 * input whose image `runGroup` makes from its member files. A group is never split across rounds, workers
 * or shards: it is one {@link GroupInput}.
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
import { Effect, type FileSystem } from "effect";
import { posix } from "node:path";
import { failureOf } from "./cpu-stage.ts";
import { type CodedError, InputReadError, toCodedError } from "./errors.ts";
import type { InputFile } from "./inputs.ts";
import type { Plan } from "./planner.ts";
import { providePlugins } from "./planner.ts";
import type { LedgerEntry } from "./session.ts";
import type { FileGroup, SourceFile, Upload } from "./stage.ts";
import type { Image } from "./tensor.ts";

/** One input made of several files. */
export interface GroupInput extends InputFile {
  readonly group: FileGroup;
  /** The member files (as discovered), in `group.members` order. */
  readonly files: ReadonlyArray<InputFile>;
}

/** A ledger entry of a grouped input: the member files and the source stage's warnings. */
export type GroupLedgerEntry = LedgerEntry & {
  readonly members?: ReadonlyArray<string>;
  readonly warnings?: ReadonlyArray<string>;
};

/** True when `input` is a group of files. */
export const isGroupInput = (input: InputFile): input is GroupInput => "group" in input && "files" in input;

/** The pipeline's grouping mode (`file`: no grouping). */
export const groupMode = (plan: Plan): string => plan.pipeline.group;

const readFile = (fs: FileSystem.FileSystem, path: string) =>
  fs.readFile(path).pipe(
    Effect.mapError((e) =>
      new InputReadError({ code: "READ_ERROR", message: `cannot read ${path}: ${e.message}` })
    ),
  );

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

/** The ledger entry of a file or group that failed before running. */
const failedEntry = (
  input: string,
  error: CodedError,
  stage: string,
  extra: { readonly members?: ReadonlyArray<string>; readonly warnings?: ReadonlyArray<string> } = {},
): GroupLedgerEntry => ({
  input,
  status: "error",
  outputs: [],
  error: { code: error.code, message: error.message, stage },
  ms: 0,
  ...(extra.members ? { members: extra.members } : {}),
  ...(extra.warnings && extra.warnings.length > 0 ? { warnings: extra.warnings } : {}),
});

/** The units of work of a run and the ledger entries of what failed before running. */
export interface GroupedInputs {
  readonly units: ReadonlyArray<InputFile>;
  readonly failed: ReadonlyArray<GroupLedgerEntry>;
}

/**
 * Turns the discovered files into units of work: the files themselves when the pipeline does not group,
 * else one {@link GroupInput} per group the source stage makes (see the module documentation).
 */
export const groupInputs = (
  plan: Plan,
  files: ReadonlyArray<InputFile>,
  fs: FileSystem.FileSystem,
): Effect.Effect<GroupedInputs> =>
  Effect.gen(function* () {
    const mode = groupMode(plan);
    const grouping = plan.source.stage.group;
    if (mode === "file" || !grouping) return { units: files, failed: [] };
    const label = plan.source.label;
    const failed: GroupLedgerEntry[] = [];
    const scanned: Array<{ readonly path: string; readonly record: unknown }> = [];
    const byPath = new Map<string, InputFile>();
    for (const file of files) {
      const exit = yield* Effect.exit(
        Effect.flatMap(
          readFile(fs, file.path),
          (bytes) => grouping.scan({ path: file.path, bytes }, plan.source.params),
        ).pipe(providePlugins(plan)),
      );
      if (exit._tag === "Success") {
        scanned.push({ path: file.path, record: exit.value });
        byPath.set(file.path, file);
      } else {
        failed.push(failedEntry(file.path, toCodedError(failureOf(exit.cause), "INTERNAL_ERROR"), label));
      }
    }
    const units: GroupInput[] = [];
    for (const group of grouping.partition(scanned, plan.source.params, mode)) {
      const members = group.members.map((p) => byPath.get(p)).filter((f): f is InputFile => f !== undefined);
      const name = joinPath(commonFolder(group.members), group.key);
      if (group.error) {
        failed.push(failedEntry(name, group.error, label, group));
        continue;
      }
      units.push({
        path: name,
        outputBase: joinPath(commonFolder(members.map((m) => m.outputBase)), group.key),
        group,
        files: members,
      });
    }
    return { units, failed };
  });

/** The member files' bytes. */
const readMembers = (fs: FileSystem.FileSystem, input: GroupInput) =>
  Effect.forEach(
    input.files,
    (f) => Effect.map(readFile(fs, f.path), (bytes): SourceFile => ({ path: f.path, bytes })),
  );

/** The image of a grouped input (its source stage's `runGroup` over the member files). */
export const runGroupInput = (
  plan: Plan,
  fs: FileSystem.FileSystem,
  input: GroupInput,
): Effect.Effect<Image, CodedError> =>
  Effect.flatMap(
    readMembers(fs, input),
    (files) => plan.source.stage.group!.runGroup(files, input.group, plan.source.params),
  ).pipe(providePlugins(plan));

/** The GPU upload of a grouped input: its image's values as f32. */
export const groupUpload = (
  plan: Plan,
  fs: FileSystem.FileSystem,
  input: GroupInput,
): Effect.Effect<Upload, CodedError> =>
  Effect.map(runGroupInput(plan, fs, input), ({ data, ...image }): Upload => ({
    image,
    pixels: { type: "f32", data },
  }));

/** A ledger entry with its group's members and warnings (unchanged for plain files). */
export const withGroupInfo = (input: InputFile, entry: LedgerEntry): GroupLedgerEntry =>
  isGroupInput(input)
    ? {
      ...entry,
      members: input.files.map((f) => f.path),
      ...(input.group.warnings.length > 0 ? { warnings: input.group.warnings } : {}),
    }
    : entry;
