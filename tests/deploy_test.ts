/**
 * The deployment files cannot rot: the Kubernetes Indexed Job, the Slurm array and the Dockerfile are read,
 * every flag they pass must exist in the CLI, the shard counts must agree with the engines' own, and the
 * commands are run for real on sample files (shards, then merge) as the engines would run them.
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { readJson, runCli, tempDir } from "./helpers.ts";
import { DENO_V8_FLAGS, V8_FLAGS } from "../cli/v8_flags.ts";

/** The `--flags` a CLI command defines (the first word of each line of its help's FLAGS section). */
const flagsOf = async (command: string): Promise<Set<string>> => {
  const help = await runCli([command, "--help"]);
  const lines = `${help.stdout}${help.stderr}`.split("\n");
  const flags = lines.flatMap((l) => /^\s+(--[a-z][a-z-]*)/.exec(l)?.[1] ?? []);
  return new Set(flags);
};

/** The flags used in an argument list. */
const usedFlags = (args: ReadonlyArray<string>) => args.filter((a) => /^--[a-z]/.test(a));

const job = parse(readFileSync("deploy/kubernetes/job.yaml", "utf8"));
const mergeJob = parse(readFileSync("deploy/kubernetes/merge-job.yaml", "utf8"));
const pvc = parse(readFileSync("deploy/kubernetes/pvc.yaml", "utf8"));
const arrayScript = readFileSync("deploy/slurm/dcmflow-array.sbatch", "utf8");
const mergeScript = readFileSync("deploy/slurm/dcmflow-merge.sbatch", "utf8");

/** The `$DCMFLOW <command> ...` invocation of a Slurm script, continuation lines joined, as words. */
const invocation = (script: string): string[] => {
  const line = script.replace(/\\\n\s*/g, " ").split("\n").find((l) => l.startsWith("$DCMFLOW "))!;
  return line.split(/\s+/).slice(1).map((w) => w.replace(/^"|"$/g, ""));
};

Deno.test("Kubernetes: an Indexed Job whose --shard matches its completions, flags the CLI has", async () => {
  assert.equal(job.kind, "Job");
  assert.equal(job.spec.completionMode, "Indexed");
  const container = job.spec.template.spec.containers[0];
  const args: string[] = container.args;
  assert.equal(args[0], "run");
  const shard = args[args.indexOf("--shard") + 1];
  assert.equal(shard, `$(JOB_COMPLETION_INDEX)/${job.spec.completions}`);
  assert.ok(container.env.some((e: { name: string }) => e.name === "JOB_COMPLETION_INDEX"));
  const runFlags = await flagsOf("run");
  for (const flag of usedFlags(args)) assert.ok(runFlags.has(flag), `dcmflow run has no ${flag}`);
  assert.deepEqual(mergeJob.spec.template.spec.containers[0].args.slice(0, 1), ["merge"]);
  const claims = [job, mergeJob].map((j) => j.spec.template.spec.volumes[0].persistentVolumeClaim.claimName);
  assert.deepEqual(claims, [pvc.metadata.name, pvc.metadata.name]);
  assert.ok(pvc.spec.accessModes.includes("ReadWriteMany"), "shards on several nodes share the volume");
});

Deno.test("Slurm: the array's --shard uses the task id and count, the array is 0-based, flags exist", async () => {
  const array = /#SBATCH --array=0-(\d+)/.exec(arrayScript);
  assert.ok(array, "a 0-based array (shards are numbered 0 to N-1)");
  const args = invocation(arrayScript);
  assert.equal(args[0], "run");
  assert.equal(args[args.indexOf("--shard") + 1], "${SLURM_ARRAY_TASK_ID}/${SLURM_ARRAY_TASK_COUNT}");
  const runFlags = await flagsOf("run");
  for (const flag of usedFlags(args)) assert.ok(runFlags.has(flag), `dcmflow run has no ${flag}`);
  assert.deepEqual(invocation(mergeScript).slice(0, 1), ["merge"]);
  assert.match(readFileSync("deploy/slurm/submit.sh", "utf8"), /--dependency=afterany:/);
});

Deno.test("Dockerfile: the official Deno image at the project's Deno version, the CLI as entrypoint", () => {
  const docker = readFileSync("deploy/Dockerfile", "utf8");
  const pkg = readJson("package.json");
  const from = /^FROM denoland\/deno:(\S+)/m.exec(docker);
  assert.equal(from?.[1], pkg.devDependencies.deno);
  assert.match(
    docker,
    /ENTRYPOINT \["deno", "run", "-A", "--cached-only", "--node-modules-dir=manual", "--v8-flags=[^"]+", "\/app\/cli\.ts"\]/,
  );
  for (const m of docker.matchAll(/^COPY (.+) \.\/$/gm)) {
    for (const f of m[1].split(/\s+/)) assert.ok(existsSync(f), `COPY ${f}: no such file`);
  }
  // `COPY . .` after `deno install`: the host's node_modules must not replace the image's.
  if (/^COPY \. \.$/m.test(docker)) {
    const ignored = readFileSync(".dockerignore", "utf8").split("\n").map((l) => l.trim());
    for (const p of ["node_modules/", "dist/"]) assert.ok(ignored.includes(p), `.dockerignore lacks ${p}`);
  }
});

Deno.test("the Slurm scripts run for real: two array tasks, then the merge, on sample files", async () => {
  const input = tempDir();
  for (const n of ["001", "002", "003", "004"]) {
    copyFileSync(`samples/ct-study/slice-${n}.dcm`, join(input, `slice-${n}.dcm`));
  }
  const out = join(tempDir(), "out");
  const env = {
    PIPELINE: "pipelines/seed-recipe.yaml",
    INPUT: input,
    OUT: out,
    DCMFLOW: `${Deno.execPath()} run -A cli.ts`,
    SLURM_ARRAY_TASK_COUNT: "2",
    SLURM_CPUS_PER_TASK: "1",
  };
  for (const task of ["0", "1"]) {
    const r = await new Deno.Command("bash", {
      args: ["deploy/slurm/dcmflow-array.sbatch"],
      env: { ...env, SLURM_ARRAY_TASK_ID: task },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  }
  const merge = await new Deno.Command("bash", {
    args: ["deploy/slurm/dcmflow-merge.sbatch"],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(merge.code, 0, new TextDecoder().decode(merge.stderr));
  const ledger = readJson(join(out, "dcmflow-run.json"));
  assert.deepEqual(ledger.summary, { total: 4, ok: 4, error: 0 });
  assert.equal(ledger.merged.shards, 2);
});

Deno.test("every launch point passes the CLI's V8 flags (cli/v8_flags.ts: deno.json tasks, Docker, Slurm, the npm bin)", () => {
  const files = [
    "deno.json",
    "deploy/Dockerfile",
    "deploy/slurm/dcmflow-array.sbatch",
    "deploy/slurm/dcmflow-merge.sbatch",
  ];
  const found = files.flatMap((f) =>
    [...readFileSync(f, "utf8").matchAll(/--v8-flags=([^\s"',]+(?:,[^\s"',]+)*)/g)].map((m) => ({
      f,
      arg: m[0],
    }))
  );
  for (const f of files) assert.ok(found.some((x) => x.f === f), `${f} passes no --v8-flags`);
  for (const x of found) assert.equal(x.arg, DENO_V8_FLAGS, x.f);
  // The benchmarks import the list; the npm bin runs under Node: the same flags in its shebang.
  for (const f of ["bench/whole_process.ts", "bench/stack_bench.ts", "bench/startup.ts"]) {
    assert.match(readFileSync(f, "utf8"), /^\s+DENO_V8_FLAGS,$/m, `${f} runs the CLI with DENO_V8_FLAGS`);
  }
  assert.match(
    readFileSync("scripts/build.ts", "utf8"),
    /#!\/usr\/bin\/env -S node \$\{V8_FLAGS\.join\(" "\)\}/,
  );
  if (existsSync("dist/cli.js")) {
    assert.equal(
      readFileSync("dist/cli.js", "utf8").split("\n")[0],
      `#!/usr/bin/env -S node ${V8_FLAGS.join(" ")}`,
    );
  }
  assert.equal(new Set(V8_FLAGS.map((f) => f.split("=")[0])).size, V8_FLAGS.length, "each flag once");
});
