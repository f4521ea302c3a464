/**
 * Whole-process comparison, as users meet it: `dcmflow run` with the seed recipe against the PyTorch recipe
 * (bench/reference_recipe.py --once: pydicom + torchvision, every file, then one np.save) run as a process on
 * the same files - 256 and 1024 synthetic 512² CT slices, alternating, several rounds, medians and ratios.
 * Also: start-up (a one-input run), the marginal cost per slice ((T1024 - T256) / 768), peak RSS (256 vs 1024:
 * memory must stay flat), and the GPU path on the adapter at hand.
 *
 * `deno run -A bench/whole_process.ts [--rounds N] [--sizes 256,1024] [--dir DIR] [--header minimal|scanner]
 * [--syntax native|jpeg-lossless|jpeg-extended|jpeg-ls|rle|jpeg2000] [--no-gpu]` (`--dir`: where the slices and every output go, default the system's
 * temporary folder; e.g. `/dev/shm` to leave the disk's file system out; `--header scanner`: slices whose
 * header also holds what a CT scanner writes, ~90 elements instead of 16, see synthetic.ts; `--syntax
 * jpeg-lossless`: the slices compressed by DCMTK's `dcmcjpeg +e1` (JPEG Lossless SV1, .70, as archives store
 * CT), which the recipe's pydicom decodes with GDCM (`python3-gdcm`); the other syntaxes likewise, by
 * `dcmcjpeg +ee`, `dcmcjpls`, `dcmcrle` or GDCM, see SYNTAXES; `--no-gpu`: leave the GPU path out).
 * dcmflow runs as `deno task
 * dcmflow:fast` does: the bundle `dist/cli.js` (from `deno task build`; `cli.ts` when there is none) with the
 * shipped V8 flags; `DCMFLOW_BENCH_CLI` names another entry.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { runtimeName } from "../core/platform.ts";
import { flagOption, numberOption, textOption } from "./options.ts";
import { makeCtSlice, type SliceHeader } from "./synthetic.ts";
import { DENO_V8_FLAGS } from "../cli/v8_flags.ts";

const PYTHON = "/usr/bin/python3";
/** The seed recipe: decode -> HU -> window 40/400 -> 224² antialiased -> normalize 0.5/0.5 -> npy. */
export const SEED_RECIPE = `dcmflow: 1
name: bench-seed-recipe
stages:
  - use: decode
  - use: rescale
  - use: window
    with: { center: 40, width: 400 }
  - use: resize
    with: { width: 224, height: 224 }
  - use: normalize
    with: { mean: [0.5], std: [0.5] }
  - use: write
    with: { format: npy }
`;

/** One timed process: wall seconds and peak resident memory (MiB). */
interface Sample {
  readonly seconds: number;
  readonly rssMiB: number;
}

/** Runs a command under /usr/bin/time (for its peak RSS); fails loudly when it fails. */
export const timed = (argv: ReadonlyArray<string>): Sample => {
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", ...argv], { encoding: "utf8" });
  const seconds = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(" ")} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const rss = Number(r.stderr.trim().split("\n").pop());
  return { seconds, rssMiB: rss / 1024 };
};

export const median = (xs: ReadonlyArray<number>): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * How the slices' pixel data is stored, and what stores it so: a DCMTK command (`file` in, `file.z` out) or
 * GDCM through Python (a whole folder at once; DCMTK writes no JPEG 2000).
 */
const SYNTAXES = {
  native: { title: "", tool: undefined },
  "jpeg-lossless": { title: "JPEG Lossless SV1 (dcmcjpeg +e1)", tool: ["dcmcjpeg", "+e1", "+un"] },
  "jpeg-extended": { title: "JPEG extended 12-bit, lossy (dcmcjpeg +ee)", tool: ["dcmcjpeg", "+ee", "+un"] },
  "jpeg-ls": { title: "JPEG-LS lossless (dcmcjpls)", tool: ["dcmcjpls", "+el", "+un"] },
  rle: { title: "RLE Lossless (dcmcrle)", tool: ["dcmcrle"] },
  jpeg2000: { title: "JPEG 2000 lossless (GDCM)", tool: "gdcm" },
} as const;
export type Syntax = keyof typeof SYNTAXES;

/**
 * Whether `syntax` can be compared here: the tool that stores slices in it (DCMTK's command, or GDCM for
 * Python) is installed, and the recipe's pydicom can decode it (GDCM, but for RLE, which pydicom reads itself).
 */
export const canCompare = (syntax: Syntax): boolean => {
  const ok = (r: ReturnType<typeof spawnSync>) => !r.error && r.status === 0;
  const gdcm = () => ok(spawnSync(PYTHON, ["-c", "import gdcm"], { encoding: "utf8" }));
  const { tool } = SYNTAXES[syntax];
  if (tool === undefined) return true;
  if (tool === "gdcm") return gdcm();
  return ok(spawnSync(tool[0], ["--version"], { encoding: "utf8" })) && (syntax === "rle" || gdcm());
};

/** GDCM (python3-gdcm) re-encodes every .dcm of a folder as JPEG 2000 lossless, in place. */
const GDCM_J2K = `import gdcm, pathlib, sys
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.dcm")):
    r = gdcm.ImageReader(); r.SetFileName(str(f))
    assert r.Read(), f
    c = gdcm.ImageChangeTransferSyntax()
    c.SetTransferSyntax(gdcm.TransferSyntax(gdcm.TransferSyntax.JPEG2000Lossless))
    c.SetInput(r.GetImage())
    assert c.Change(), f
    w = gdcm.ImageWriter(); w.SetFileName(str(f)); w.SetFile(r.GetFile()); w.SetImage(c.GetOutput())
    assert w.Write(), f
`;

/** A folder of `n` synthetic 512² CT slices with the given header, stored in `syntax`. */
const makeSlices = (root: string, n: number, header: SliceHeader, syntax: Syntax): string => {
  const dir = join(root, `slices-${n}`);
  mkdirSync(dir, { recursive: true });
  const { tool } = SYNTAXES[syntax];
  for (let i = 0; i < n; i++) {
    const file = join(dir, `slice-${String(i + 1).padStart(5, "0")}.dcm`);
    writeFileSync(file, makeCtSlice(512, 512, i, header));
    if (Array.isArray(tool)) compress(tool, file, syntax);
  }
  if (tool === "gdcm") {
    succeed(spawnSync(PYTHON, ["-c", GDCM_J2K, dir], { encoding: "utf8" }), syntax, "python3-gdcm");
  }
  return dir;
};

/** Compresses a file in place with a DCMTK encoder. */
const compress = (tool: ReadonlyArray<string>, file: string, syntax: Syntax) => {
  succeed(spawnSync(tool[0], [...tool.slice(1), file, `${file}.z`], { encoding: "utf8" }), syntax, "DCMTK");
  renameSync(`${file}.z`, file);
};

const succeed = (r: ReturnType<typeof spawnSync>, syntax: Syntax, needs: string) => {
  if (r.error || r.status !== 0) {
    throw new Error(`--syntax ${syntax} needs ${needs} (apt): ${r.error ?? String(r.stderr).slice(-1000)}`);
  }
};

/** The contenders, as commands on a folder of slices. */
const contenders = (root: string, pipeline: string, hasGpu: boolean) => {
  // As users run it: the bundled command (`deno task build`), with the launch flags of `deno task dcmflow:fast`.
  const cli = Deno.env.get("DCMFLOW_BENCH_CLI") ?? (existsSync("dist/cli.js") ? "dist/cli.js" : "cli.ts");
  // Every run writes into a folder of its own, and nothing is deleted before the bench ends: on an ext4
  // without a journal (this project's VMs), creating a file skips every inode deleted in the last minute, one
  // by one (`recently_deleted` in the kernel's profile), so deleting the previous round's 1,024 outputs just
  // before a run made each of its 1,024 file creations cost up to ~1 ms of kernel time - a cost of the bench's
  // own clean-up, which the recipe's single output file never meets.
  let runs = 0;
  const dcmflow = (device: string) => (dir: string) => {
    const out = join(root, `out-${device}-${++runs}`);
    return [
      Deno.execPath(),
      "run",
      "-A",
      "--node-modules-dir=manual",
      DENO_V8_FLAGS,
      cli,
      "run",
      pipeline,
      "--input",
      dir,
      "--out",
      out,
      "--device",
      device,
      "-q",
    ];
  };
  const threads = String(availableParallelism());
  const python = (
    dir: string,
  ) => [PYTHON, "bench/reference_recipe.py", "--once", dir, join(root, "py.npy"), threads];
  return [
    { name: "dcmflow run (CPU path)", command: dcmflow("cpu") },
    ...(hasGpu ? [{ name: "dcmflow run --device gpu", command: dcmflow("gpu") }] : []),
    ...(existsSync(PYTHON) ? [{ name: `PyTorch recipe (${threads} threads)`, command: python }] : []),
  ];
};

/**
 * Writes the previous runs' outputs back to disk before the next run is timed (untimed): each run leaves up to
 * ~200 MB of dirty pages, and the kernel's write-back of one contender's outputs otherwise takes CPU from the
 * next contender's run (on 2 cores, ±20 % either way, to whoever comes next).
 */
const settle = () => void spawnSync("sync");

/** Alternates the contenders `rounds` times on one folder; per contender, the samples. */
const race = (
  list: ReturnType<typeof contenders>,
  dir: string,
  rounds: number,
): Map<string, Sample[]> => {
  const samples = new Map(list.map((c) => [c.name, [] as Sample[]]));
  for (let r = 0; r < rounds; r++) {
    for (const c of list) {
      settle();
      samples.get(c.name)!.push(timed(c.command(dir)));
    }
  }
  return samples;
};

/** Runs the comparison and prints Markdown tables; returns the medians for callers. */
export const wholeProcess = (
  options: { rounds?: number; sizes?: number[]; gpu?: boolean; syntax?: Syntax } = {},
) => {
  const rounds = options.rounds ?? numberOption("rounds", 3);
  const sizes = options.sizes ?? textOption("sizes", "256,1024").split(",").map(Number);
  const dir = textOption("dir", tmpdir());
  const header = textOption("header", "minimal") as SliceHeader;
  if (header !== "minimal" && header !== "scanner") {
    throw new Error(`--header minimal|scanner, not ${header}`);
  }
  const syntax = options.syntax ?? textOption("syntax", "native") as Syntax;
  if (!(syntax in SYNTAXES)) throw new Error(`--syntax ${Object.keys(SYNTAXES).join("|")}, not ${syntax}`);
  const root = mkdtempSync(join(dir, "dcmflow-bench-wp-"));
  const pipeline = join(root, "seed.yaml");
  writeFileSync(pipeline, SEED_RECIPE);
  const list = contenders(root, pipeline, options.gpu ?? !flagOption("no-gpu"));
  const one = makeSlices(root, 1, header, syntax);
  const results = new Map<number, Map<string, Sample[]>>();
  results.set(1, race(list.filter((c) => c.name.startsWith("dcmflow run (CPU")), one, rounds));
  for (const n of sizes) results.set(n, race(list, makeSlices(root, n, header, syntax), rounds));
  rmSync(root, { recursive: true, force: true });
  print(results, list.map((c) => c.name), sizes, rounds, dir, header, syntax);
  return results;
};

const print = (
  results: Map<number, Map<string, Sample[]>>,
  names: ReadonlyArray<string>,
  sizes: ReadonlyArray<number>,
  rounds: number,
  dir: string,
  header: SliceHeader,
  syntax: Syntax,
) => {
  const med = (n: number, name: string, f: (s: Sample) => number) =>
    median(results.get(n)!.get(name)!.map(f));
  const reference = names.find((n) => n.startsWith("PyTorch"));
  console.log(
    `\nWhole process, seed recipe, synthetic 512² CT slices${
      header === "scanner" ? " with a scanner-like header (~90 elements)" : ""
    }${SYNTAXES[syntax].title ? `, ${SYNTAXES[syntax].title}` : ""} -> 224², ${runtimeName()}, ` +
      `${availableParallelism()} cores, median of ${rounds} alternating rounds, files under ${dir}\n`,
  );
  console.log(
    `| contender | ${sizes.map((n) => `${n} slices`).join(" | ")} | per slice (marginal) | peak RSS ${
      sizes.join(" / ")
    } |`,
  );
  console.log(`|---|${sizes.map(() => "---:").join("|")}|---:|---:|`);
  for (const name of names) {
    const secs = sizes.map((n) => med(n, name, (s) => s.seconds));
    const ratios = reference && name !== reference
      ? sizes.map((n, k) => ` (**${(med(n, reference, (s) => s.seconds) / secs[k]).toFixed(1)}×**)`)
      : sizes.map(() => "");
    const [a, b] = [sizes[0], sizes[sizes.length - 1]];
    const marginal = sizes.length > 1
      ? ((med(b, name, (s) => s.seconds) - med(a, name, (s) => s.seconds)) / (b - a)) * 1000
      : NaN;
    const rss = sizes.map((n) => med(n, name, (s) => s.rssMiB).toFixed(0)).join(" / ");
    console.log(
      `| ${name} | ${secs.map((s, k) => `${s.toFixed(2)} s${ratios[k]}`).join(" | ")} | ${
        Number.isNaN(marginal) ? "—" : `${marginal.toFixed(2)} ms`
      } | ${rss} MiB |`,
    );
  }
  const start = med(1, names[0], (s) => s.seconds);
  console.log(
    `\nStart-up (dcmflow run on one slice, whole process): ${
      start.toFixed(3)
    } s. Ratios: PyTorch time / dcmflow time.`,
  );
};

if (import.meta.main) wholeProcess();
