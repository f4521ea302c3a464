/**
 * Issue 15, walking inputs: each real file once (device + inode), symlink loops and unreadable folders
 * reported as entries, outputs that would overwrite the run ledger refused, hidden files defined, and
 * `--out` naming a file refused before anything runs.
 */
import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { Effect } from "effect";
import { discoverInputs, type InputFile, outputBaseName } from "../core/inputs.ts";
import { firstNames, listDir, statPath } from "../core/platform.ts";
import { runPipeline } from "../mod.ts";
import { readJson, runCli, runResult, tempDir } from "./helpers.ts";

const SAMPLE = new URL("./fixtures/dicom/signed12_garbage.dcm", import.meta.url).pathname;

const discover = async (paths: string[], out: string) => {
  const r = await runResult(discoverInputs(paths, out));
  assert.equal(r._tag, "Success");
  return (r as { success: ReadonlyArray<InputFile> }).success;
};

const rel = (root: string, list: ReadonlyArray<InputFile>) =>
  list.map((i) => `${i.path.slice(root.length + 1)}${i.problem ? ` ${i.problem.code}` : ""}`);

Deno.test("a link back to an ancestor folder is reported once per link; every real file is listed once", async () => {
  const root = tempDir();
  mkdirSync(join(root, "d"));
  writeFileSync(join(root, "a.dcm"), "a");
  writeFileSync(join(root, "d", "b.dcm"), "b");
  symlinkSync("..", join(root, "d", "l"));
  symlinkSync("..", join(root, "d", "m")); // two loops: the old walk was exponential
  const found = await discover([root], join(root, "out"));
  assert.deepEqual(rel(root, found), ["a.dcm", "d/b.dcm", "d/l SYMLINK_LOOP", "d/m SYMLINK_LOOP"]);
  assert.match(found[2].problem!.message, /symbolic link back into a folder that contains it/);
});

Deno.test("a second path to the same file or folder is a DUPLICATE_INPUT entry, not a second run", async () => {
  const root = tempDir();
  mkdirSync(join(root, "x"));
  writeFileSync(join(root, "x", "a.dcm"), "a");
  symlinkSync("a.dcm", join(root, "x", "b.dcm"));
  symlinkSync("x", join(root, "y"));
  const found = await discover([root, join(root, "x", "a.dcm")], join(root, "out"));
  assert.deepEqual(rel(root, found), [
    "x/a.dcm",
    "x/b.dcm DUPLICATE_INPUT",
    "y DUPLICATE_INPUT",
    "x/a.dcm DUPLICATE_INPUT",
  ]);
  assert.match(found[1].problem!.message, /the same file as .*x\/a\.dcm/);
});

Deno.test("broken links and unreadable folders are READ_ERROR entries", async () => {
  const root = tempDir();
  mkdirSync(join(root, "locked"));
  writeFileSync(join(root, "locked", "c.dcm"), "c");
  symlinkSync("missing.dcm", join(root, "broken.dcm"));
  // Root can read any folder: the unreadable folder is simulated in the walk's file system calls.
  const io = {
    stat: (p: string) => statSync(p),
    readdir: (p: string) => {
      if (p.endsWith("locked")) {
        throw Object.assign(new Error("EACCES: permission denied"), { code: "EACCES" });
      }
      return readdirSync(p);
    },
  };
  const found = await Effect.runPromise(discoverInputs([root], join(root, "out"), io));
  assert.deepEqual(rel(root, found), ["broken.dcm READ_ERROR", "locked READ_ERROR"]);
  assert.match(found[1].problem!.message, /cannot list this folder/);
});

Deno.test("the walk's own stat and listing (Deno's calls) agree with node:fs's, errors included", async () => {
  const root = tempDir();
  mkdirSync(join(root, "d", "e"), { recursive: true });
  writeFileSync(join(root, "a.dcm"), "a");
  writeFileSync(join(root, "d", "b.dcm"), "b");
  writeFileSync(join(root, "d", "e", ".hidden.dcm"), "h");
  writeFileSync(join(root, "d", ".DS_Store"), "x");
  linkSync(join(root, "a.dcm"), join(root, "d", "hard.dcm")); // a hard link: same inode, no symlink
  symlinkSync("../a.dcm", join(root, "d", "soft.dcm"));
  symlinkSync("..", join(root, "d", "loop"));
  symlinkSync("missing.dcm", join(root, "d", "broken.dcm"));
  symlinkSync("self", join(root, "d", "self"));
  for (const p of ["a.dcm", "d", "d/e", "d/hard.dcm", "d/soft.dcm", "d/loop"].map((p) => join(root, p))) {
    const [fast, node] = [statPath(p), statSync(p)];
    assert.deepEqual(
      [fast.isFile(), fast.isDirectory(), fast.dev, fast.ino],
      [node.isFile(), node.isDirectory(), node.dev, node.ino],
      p,
    );
  }
  for (const p of ["d/broken.dcm", "d/self", "nothing"].map((p) => join(root, p))) {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as { code?: string }).code;
      }
    };
    assert.equal(code(() => statPath(p)), code(() => statSync(p)), p);
  }
  assert.deepEqual(listDir(join(root, "d")).sort(), readdirSync(join(root, "d")).sort());
  // firstNames: a part of the listing, read an entry at a time (the launcher's look at a folder).
  const all = readdirSync(join(root, "d"));
  const two = await firstNames(join(root, "d"), 2);
  assert.equal(two.length, 2);
  assert.ok(two.every((n) => all.includes(n)) && two[0] !== two[1], String(two));
  assert.deepEqual((await firstNames(join(root, "d"), 100)).sort(), [...all].sort(), "fewer than the limit");
  assert.deepEqual(await firstNames(join(root, "d", "e"), 0), []);
  await assert.rejects(firstNames(join(root, "nothing"), 2));
  const nodeIo = { stat: (p: string) => statSync(p), readdir: (p: string) => readdirSync(p) };
  const [fast, node] = await Promise.all([
    Effect.runPromise(discoverInputs([root, join(root, "d", "b.dcm")], join(root, "out"))),
    Effect.runPromise(discoverInputs([root, join(root, "d", "b.dcm")], join(root, "out"), nodeIo)),
  ]);
  assert.deepEqual(fast, node);
  assert.deepEqual(rel(root, fast), [
    "a.dcm",
    "d/b.dcm",
    "d/broken.dcm READ_ERROR",
    "d/e/.hidden.dcm",
    "d/hard.dcm DUPLICATE_INPUT",
    "d/loop SYMLINK_LOOP",
    "d/self SYMLINK_LOOP",
    "d/soft.dcm DUPLICATE_INPUT",
    "d/b.dcm DUPLICATE_INPUT",
  ]);
});

Deno.test("hidden entries are skipped except hidden files ending in .dcm, whose names are kept whole", async () => {
  const root = tempDir();
  mkdirSync(join(root, ".git"));
  for (const name of ["a.dcm", "..dcm", ".hidden", ".git/x.dcm", ".DS_Store", ".scan.dcm"]) {
    writeFileSync(join(root, name), "x");
  }
  const found = await discover([root], join(root, "out"));
  assert.deepEqual(rel(root, found), ["..dcm", ".scan.dcm", "a.dcm"]);
  assert.equal(found[0].outputBase, "..dcm");
  assert.equal(found[1].outputBase, ".scan");
  assert.equal(outputBaseName("a/b/x.DCM"), "a/b/x");
  assert.equal(outputBaseName("IM0001"), "IM0001");
});

Deno.test("run: loops and ledger-name conflicts reach the ledger once each; --out as a file runs nothing", async () => {
  const root = tempDir();
  const input = join(root, "in");
  mkdirSync(join(input, "d"), { recursive: true });
  copyFileSync(SAMPLE, join(input, "d", "x.dcm"));
  copyFileSync(SAMPLE, join(input, "dcmflow-run.dcm"));
  symlinkSync("..", join(input, "d", "up"));
  const pipeline = join(root, "p.yaml");
  writeFileSync(
    pipeline,
    "dcmflow: 1\nstages:\n  - use: decode\n  - use: write\n    with: { format: json }\n",
  );
  const out = join(root, "out");
  const r = await runResult(runPipeline(pipeline, { inputs: [input], out, device: "cpu" }));
  assert.equal(r._tag, "Success");
  const ledger = readJson(join(out, "dcmflow-run.json"));
  const entries = ledger.inputs.map((e: { input: string; status: string; error?: { code: string } }) =>
    `${e.input.slice(input.length + 1)} ${e.status}${e.error ? ` ${e.error.code}` : ""}`
  );
  assert.deepEqual(entries, [
    "d/up error SYMLINK_LOOP",
    "d/x.dcm ok",
    "dcmflow-run.dcm error OUTPUT_CONFLICT",
  ]);
  assert.ok(existsSync(join(out, "d", "x.json")));

  writeFileSync(join(root, "file-out"), "not a folder");
  const bad = await runResult(
    runPipeline(pipeline, { inputs: [input], out: join(root, "file-out"), device: "cpu" }),
  );
  assert.equal(bad._tag, "Failure");
  assert.equal((bad as { failure: { code: string } }).failure.code, "INVALID_ARGUMENTS");
  const cli = await runCli([
    "run",
    pipeline,
    "--input",
    input,
    "--out",
    join(root, "file-out"),
    "--device",
    "cpu",
  ]);
  assert.equal(cli.code, 2, cli.stderr);
  assert.match(cli.stderr, /--out .*is a file/);
});
