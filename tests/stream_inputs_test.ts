/**
 * Issue 12, inputs listed as the run consumes them: the count first, then the walk folder by folder holding
 * nothing per file. What it lists must be what the whole listing (`discoverInputs`) lists on any tree, and it
 * marks every input that may share its output name with another (the run checks only those).
 */
import { Effect } from "effect";
import assert from "node:assert/strict";
import { linkSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  countInputs,
  discoverInputs,
  type InputCount,
  type InputFile,
  type ListedInput,
  RealKeyTable,
  walkInputs,
} from "../core/inputs.ts";
import { listDir, statPath } from "../core/platform.ts";
import { tempDir } from "./helpers.ts";

/** A tree with every kind of entry the walk treats apart. */
const trickyTree = (): string => {
  const root = tempDir();
  for (const d of ["d/e", "sub", "sub2", ".git", "other"]) mkdirSync(join(root, d), { recursive: true });
  const files = [
    "a.dcm",
    "x",
    "x.dcm",
    "x.DCM",
    "x.dcm.dcm",
    "x-1.dcm",
    "x.a",
    "..dcm",
    "..dcm.dcm",
    ".hidden.dcm",
    ".DS_Store",
    "IM0001",
    "IM0001.Dcm",
    "z.dcm",
    "d/b.dcm",
    "d/e/c.dcm",
    "d/e/.x",
    "sub/s.dcm",
    "sub/s",
    "sub2/s.dcm",
    ".git/config",
    "other/o.dcm",
  ];
  for (const f of files) writeFileSync(join(root, f), f);
  symlinkSync("z.dcm", join(root, "a-link.dcm")); // a link to a file listed after it
  symlinkSync("a.dcm", join(root, "zz-link.dcm")); // a link to a file listed before it
  linkSync(join(root, "d", "b.dcm"), join(root, "d", "hard.dcm")); // a hard link
  symlinkSync("..", join(root, "d", "loop"));
  symlinkSync("missing.dcm", join(root, "d", "broken.dcm"));
  symlinkSync("d", join(root, "d-link")); // the same folder again
  symlinkSync("../other", join(root, "sub", "o")); // a folder outside, first listed under the link
  return root;
};

const withoutMarks = (list: ReadonlyArray<ListedInput>): InputFile[] =>
  list.map(({ shared: _shared, ...input }) => input);

const counted = (paths: string[], out: string): Promise<InputCount> =>
  Effect.runPromise(countInputs(paths, out, () => true));

/** The `--input` combinations the tests list. */
const inputSets = (root: string): string[][] => [
  [root],
  [join(root, "d")],
  [join(root, "x.dcm")],
  [root, join(root, "d", "b.dcm")],
  [join(root, "d"), root],
  [join(root, "sub"), join(root, "sub2")],
  [join(root, "sub2", "s.dcm"), join(root, "sub")],
  [join(root, "a-link.dcm"), root],
];

Deno.test("a streamed listing lists what the whole listing does, and its count is its length", async () => {
  const root = trickyTree();
  for (const paths of inputSets(root)) {
    const out = join(root, "out");
    const whole = await Effect.runPromise(discoverInputs(paths, out));
    const count = await counted(paths, out);
    const streamed = [...walkInputs(paths, out, count)];
    assert.deepEqual(withoutMarks(streamed), whole, paths.join(" "));
    assert.equal(count.total, whole.length, paths.join(" "));
    assert.equal(count.single, paths.length === 1);
  }
});

Deno.test("a count keeps what it is told to by path and output name (a shard's inputs)", async () => {
  const root = trickyTree();
  const whole = await Effect.runPromise(discoverInputs([root], join(root, "out")));
  const inD = (i: InputFile) => i.outputBase.startsWith("d");
  const some = await Effect.runPromise(countInputs([root], join(root, "out"), inD));
  assert.equal(some.total, whole.filter(inD).length);
  assert.ok(some.total > 0 && some.total < whole.length);
  const missing = await Effect.runPromise(
    Effect.result(countInputs([join(root, "nothing")], root, () => true)),
  );
  assert.equal(missing._tag, "Failure");
});

Deno.test("with one --input, every input whose output name another has is marked shared", async () => {
  const root = trickyTree();
  for (const paths of inputSets(root).filter((p) => p.length === 1)) {
    const out = join(root, "out");
    const streamed = [...walkInputs(paths, out, await counted(paths, out))];
    // The run's rule: the first input (without a problem) with an output name claims it.
    const owners = new Map<string, ListedInput>();
    let conflicts = 0;
    for (const input of streamed.filter((i) => !i.problem)) {
      const owner = owners.get(input.outputBase);
      if (owner === undefined) owners.set(input.outputBase, input);
      else {
        conflicts++;
        assert.ok(input.shared && owner.shared, `${input.path} and ${owner.path} are marked`);
      }
    }
    if (paths[0] === root) {
      assert.equal(
        conflicts,
        5,
        "..dcm.dcm (..dcm), IM0001.Dcm (IM0001), sub/s.dcm (sub/s), x.DCM and x.dcm (x)",
      );
    }
  }
  const marked = [...walkInputs([root], join(root, "out"), await counted([root], join(root, "out")))]
    .filter((i) => i.shared).map((i) => i.path.slice(root.length + 1));
  assert.deepEqual(marked, [
    "..dcm",
    "..dcm.dcm",
    "IM0001",
    "IM0001.Dcm",
    "sub/s",
    "sub/s.dcm",
    "x",
    "x.DCM",
    "x.dcm",
  ]);
});

Deno.test("a flat table of device and inode pairs tells a repeated pair exactly, large inodes included", () => {
  const table = new RealKeyTable();
  const seen = new Set<string>();
  let state = 7;
  const next = () => (state = (Math.imul(state, 1103515245) + 12345) >>> 0);
  for (let i = 0; i < 20_000; i++) {
    const dev = next() % 3;
    const ino = i % 3 === 0 ? next() % 5_000 : next() * 2 ** 21 + (next() % 2 ** 21); // up to ~2^53
    const key = `${dev}:${ino}`;
    assert.equal(table.add(dev, ino), seen.has(key), key);
    seen.add(key);
  }
  assert.equal(table.add(0, 2 ** 53 - 1), false);
  assert.equal(table.add(0, 2 ** 53 - 1), true);
  assert.equal(table.add(1, 2 ** 53 - 1), false);
});

Deno.test("an --input gone between the count and the walk is its READ_ERROR entry, not a throw mid-run", async () => {
  const root = tempDir();
  const kept = join(root, "kept");
  const gone = join(root, "gone");
  for (const dir of [kept, gone]) {
    mkdirSync(dir);
    writeFileSync(join(dir, "a.dcm"), "x");
  }
  const out = join(root, "out");
  const count = await counted([gone, kept], out);
  assert.equal(count.total, 2);
  rmSync(gone, { recursive: true });
  const listed = [...walkInputs([gone, kept], out, count)];
  assert.deepEqual(listed.map((i) => [i.path, i.problem?.code]), [[gone, "READ_ERROR"], [
    join(kept, "a.dcm"),
    undefined,
  ]]);
  assert.match(listed[0].problem!.message, /was there when the run counted its inputs/);
  await assert.rejects(
    counted([gone], out),
    /no such file or folder/,
    "before the run: a command-line error",
  );
});

Deno.test("the walk after a count takes the count's listing of the first folder instead of listing it again", async () => {
  const root = trickyTree();
  const out = join(root, "out");
  const listed: string[] = [];
  const io = {
    stat: (path: string) => statPath(path),
    readdir: (dir: string) => {
      listed.push(dir);
      return listDir(dir);
    },
  };
  const count = await Effect.runPromise(countInputs([root], out, () => true, io));
  assert.equal(count.firstListing?.dir, root);
  const listedByCount = listed.splice(0);
  const streamed = [...walkInputs([root], out, count, io)];
  assert.deepEqual(listed, listedByCount.slice(1), "every folder but the first is listed again by the walk");
  const whole = await Effect.runPromise(discoverInputs([root], out));
  assert.deepEqual(withoutMarks(streamed), whole, "and it lists the same inputs");
  // A file gone since the count: an entry of its own (READ_ERROR), so the walk lists what the count counted.
  rmSync(join(root, "x-1.dcm"));
  const again = [...walkInputs([root], out, count)];
  assert.equal(again.length, count.total);
  const gone = again.find((i) => i.path === join(root, "x-1.dcm"));
  assert.equal(gone?.problem?.code, "READ_ERROR");
});
