/** Shared helpers for the test suite. */
import { NodeServices } from "@effect/platform-node";
import { Effect } from "effect";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeNpy } from "../core/npy.ts";

/** Runs an Effect with Node-compatible services; resolves to its Result (success or failure value). */
export const runResult = <A, E>(eff: Effect.Effect<A, E, unknown>) =>
  Effect.runPromise(
    Effect.result(eff).pipe(Effect.provide(NodeServices.layer)) as Effect.Effect<
      import("effect").Result.Result<A, E>
    >,
  );

const madeDirs: string[] = [];

/** A fresh temporary folder, removed when the test process ends (`DCMFLOW_KEEP_TEST_DIRS=1` keeps them). */
export const tempDir = (prefix = "dcmflow-test-"): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.push(dir);
  return dir;
};

globalThis.addEventListener("unload", () => {
  if (Deno.env.get("DCMFLOW_KEEP_TEST_DIRS") === "1") return;
  for (const dir of madeDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Reads a .npy file as float64 values with its shape. */
export const readNpy = (path: string) => {
  const { shape, data } = decodeNpy(new Uint8Array(readFileSync(path)));
  return { shape, data: Array.from(data as ArrayLike<number>, Number) };
};

/** Largest absolute difference between two arrays of equal length. */
/** Largest difference relative to the largest value of the reference `b`. */
export const relativeDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
};

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** Command to run the CLI under Deno (the same binary the tests run on). */
export const denoCli = (args: ReadonlyArray<string>) =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli.ts", ...args],
    stdout: "piped",
    stderr: "piped",
  });

/** Runs the CLI and returns exit code, stdout and stderr. */
export const runCli = async (args: ReadonlyArray<string>) => {
  const r = await denoCli(args).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
};

/** Reads a JSON file. */
export const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));

import { acquireGpu, type GpuShape } from "../core/gpu/device.ts";

/** True when GPU tests must fail rather than skip without an adapter (set in .ci/run). */
export const gpuRequired = (): boolean => Deno.env.get("DCMFLOW_REQUIRE_GPU") === "1";

/**
 * A test that needs a WebGPU adapter. Without one it fails when DCMFLOW_REQUIRE_GPU=1 (CI), and otherwise
 * says loudly that it did not run.
 */
export const gpuTest = (name: string, fn: (gpu: GpuShape) => Promise<void>) =>
  Deno.test({
    name: `[gpu] ${name}`,
    sanitizeResources: false,
    sanitizeOps: false,
    fn: async () => {
      const r = await Effect.runPromise(Effect.result(acquireGpu));
      if (r._tag === "Failure") {
        if (gpuRequired()) {
          throw new Error(`no WebGPU adapter and DCMFLOW_REQUIRE_GPU=1: ${r.failure.message}`);
        }
        console.warn(`%cNOT RUN (no WebGPU adapter: ${r.failure.message}): ${name}`, "color: red");
        return;
      }
      try {
        await fn(r.success);
      } finally {
        r.success.device.destroy();
      }
    },
  });

/** The Bun binary from node_modules (npm or Deno layout), $BUN_BINARY, or undefined. */
export const findBun = (): string | undefined => {
  const fromEnv = Deno.env.get("BUN_BINARY");
  if (fromEnv) return fromEnv;
  const arch = Deno.build.arch === "aarch64" ? "aarch64" : "x64";
  const pkg = `bun-${Deno.build.os === "darwin" ? "darwin" : "linux"}-${arch}`;
  const candidates = [join("node_modules/@oven", pkg, "bin/bun")];
  if (existsSync("node_modules/.deno")) {
    for (const d of readdirSync("node_modules/.deno")) {
      if (d.startsWith(`@oven+${pkg}@`)) {
        candidates.push(join("node_modules/.deno", d, "node_modules/@oven", pkg, "bin/bun"));
      }
    }
  }
  return candidates.find((c) => existsSync(c));
};
