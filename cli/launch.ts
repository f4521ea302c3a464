/**
 * The command line's first look at its arguments, before anything heavy is loaded (see `cli.ts`):
 *
 * - whether the command may run from the self-contained bundle (it loads no plugin: neither the arguments
 *   nor the pipeline files they name mention plugins);
 * - how many worker threads a `dcmflow run` will want, so that they start loading their modules now, while
 *   this thread loads its own. None when the run cannot use them: `--workers 0`, the GPU, a single input
 *   (file, or folder of one file), `--help`. A guess that is too high costs only workers ended unused;
 *   the run decides.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { firstNames, statPath } from "../core/platform.ts";
import { defaultWorkerCount } from "../core/run/pool.ts";

/** What the launcher does before the command is parsed. */
export interface Launch {
  /** Run the command from the self-contained bundle (it loads no plugin). */
  readonly standalone: boolean;
  /** Worker threads to start now. */
  readonly workers: number;
}

/** The values of a flag: `--name V`, `--name=V`, and `-a V` for its alias. */
export const flagValues = (argv: ReadonlyArray<string>, name: string, alias?: string): string[] => {
  const values: string[] = [];
  argv.forEach((arg, i) => {
    if (arg.startsWith(`--${name}=`)) values.push(arg.slice(name.length + 3));
    else if ((arg === `--${name}` || (alias && arg === `-${alias}`)) && i + 1 < argv.length) {
      values.push(argv[i + 1]);
    }
  });
  return values;
};

/** The texts of the pipeline files named on the command line; undefined when one cannot be read. */
const pipelineTexts = (argv: ReadonlyArray<string>): string[] | undefined => {
  const texts: string[] = [];
  for (const arg of argv.filter((a) => /\.ya?ml$/i.test(a))) {
    try {
      texts.push(readFileSync(arg, "utf8"));
    } catch {
      return undefined;
    }
  }
  return texts;
};

/**
 * How many inputs a `--input` gives, as far as it matters here: 0, 1 or 2 (more than one). Of a folder only
 * its first two names are read (platform.ts's `firstNames`): listing it whole took ~10 ms for 10,000 files,
 * and its entry objects, promoted to the old generation, were still there when the run's own peak came.
 */
const inputsIn = async (path: string): Promise<number> => {
  try {
    if (!statPath(path).isDirectory()) return 1;
    const names = await firstNames(path, 2);
    if (names.length === 0) return 0;
    return names.length === 1 && statPath(join(path, names[0])).isFile() ? 1 : 2; // a lone sub-folder may hold many
  } catch {
    return 0; // a missing input: the run reports it (no work for workers)
  }
};

/** Worker threads a `run` with these arguments will want (0 when it will not use any). */
const runWorkers = async (argv: ReadonlyArray<string>, texts: ReadonlyArray<string>): Promise<number> => {
  if (argv[0] !== "run" || argv.includes("--help") || argv.includes("-h")) return 0;
  const device = flagValues(argv, "device").at(-1);
  if (device === "gpu" || (device === undefined && texts.some((t) => /^device\s*:\s*["']?gpu/m.test(t)))) {
    return 0;
  }
  const flag = flagValues(argv, "workers").at(-1);
  const wanted = flag === undefined ? defaultWorkerCount() : Number(flag);
  if (!Number.isInteger(wanted) || wanted <= 0) return 0;
  // A single input runs on this thread (and rounds of a batching stage are not guessed here).
  let inputs = 0;
  for (const path of flagValues(argv, "input", "i")) inputs += await inputsIn(path);
  return inputs > 1 ? wanted : 0;
};

/** Decides what to do before the command is parsed (never fails: a wrong guess costs only time). */
export const launchPlan = async (argv: ReadonlyArray<string>): Promise<Launch> => {
  const texts = pipelineTexts(argv);
  // Any mention of plugins (a key in any YAML style, an override, the `plugins` command) means the shared copy.
  const standalone = texts !== undefined && ![...argv, ...texts].some((a) => a.includes("plugins"));
  return { standalone, workers: await runWorkers(argv, texts ?? []) };
};
