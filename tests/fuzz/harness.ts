/**
 * The fuzz harness: seeded mutants of the committed DICOM fixtures, decoded in workers with a time limit
 * per input, each answer judged by verdict.ts; and a pipeline check that runs mutants through `decode` and
 * `write` and reads the ledger (every input once, every error coded, no output for a failed input).
 *
 * @module
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runPipelinePromise } from "../../mod.ts";
import { mutate, rng } from "./mutate.ts";
import { CODES, type Outcome, problems, textProblems } from "./verdict.ts";
import type { FuzzReply, FuzzRequest } from "./worker.ts";

/** A base file of the campaign. */
export interface Base {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** One mutant. */
export interface Mutant {
  readonly id: number;
  readonly base: string;
  readonly label: string;
  readonly bytes: Uint8Array;
}

/** Folders of committed DICOM fixtures the campaign mutates. */
const BASE_FOLDERS = ["dicom", "lossless", "codecs"];

/** The committed DICOM fixtures (tests/fixtures/{dicom,lossless,codecs}/*.dcm), sorted by name in each folder. */
export function fixtureBases(): Base[] {
  return BASE_FOLDERS.flatMap((folder) => {
    const dir = new URL(`../fixtures/${folder}/`, import.meta.url);
    return readdirSync(dir).filter((n) => n.endsWith(".dcm")).sort().map((name) => ({
      name: folder === "dicom" ? name : `${folder}/${name}`,
      bytes: new Uint8Array(readFileSync(new URL(name, dir))),
    }));
  });
}

/** `count` mutants from `seed`: base files in turn, each mutated by its own generator. */
export function* mutants(bases: ReadonlyArray<Base>, seed: number, count: number): Generator<Mutant> {
  const usable = bases.filter((b) => b.bytes.length > 0);
  for (let id = 0; id < count; id++) {
    const base = usable[id % usable.length];
    const { bytes, label } = mutate(base.bytes, rng(seed * 1_000_003 + id));
    yield { id, base: base.name, label, bytes };
  }
}

/** A pool of decode workers; an input that takes longer than `timeoutMs` is a hang (its worker is replaced). */
export class FuzzPool {
  private readonly idle: Worker[] = [];
  private readonly waiting: Array<(w: Worker) => void> = [];
  private readonly all = new Set<Worker>();

  constructor(size: number, private readonly timeoutMs: number) {
    for (let i = 0; i < size; i++) this.idle.push(this.spawn());
  }

  /** Decodes one input; undefined when it hung. */
  async decode(id: number, bytes: Uint8Array): Promise<FuzzReply | undefined> {
    const worker = await this.acquire();
    const reply = await new Promise<FuzzReply | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.timeoutMs);
      worker.onmessage = (e: MessageEvent<FuzzReply>) => {
        clearTimeout(timer);
        resolve(e.data);
      };
      worker.onerror = (e) => {
        clearTimeout(timer);
        e.preventDefault();
        resolve({
          id,
          outcome: { ok: false, name: "WorkerError", message: String(e.message), ms: 0 },
          other: [],
        });
      };
      worker.postMessage({ id, bytes } satisfies FuzzRequest);
    });
    this.release(reply === undefined || reply.outcome.name === "WorkerError" ? this.replace(worker) : worker);
    return reply;
  }

  close(): void {
    for (const w of this.all) w.terminate();
    this.all.clear();
  }

  private spawn(): Worker {
    const w = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
    this.all.add(w);
    return w;
  }

  private replace(w: Worker): Worker {
    w.terminate();
    this.all.delete(w);
    return this.spawn();
  }

  private acquire(): Promise<Worker> {
    const w = this.idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(w: Worker): void {
    const next = this.waiting.shift();
    if (next) next(w);
    else this.idle.push(w);
  }
}

/** One input that broke a rule. */
export interface Finding {
  readonly mutant: string;
  readonly problems: ReadonlyArray<string>;
}

/** What a campaign found. */
export interface Report {
  readonly total: number;
  readonly ok: number;
  /** Decoded with at least one warning in the ImageMeta. */
  readonly warned: number;
  readonly codes: Readonly<Record<string, number>>;
  readonly hangs: number;
  readonly findings: ReadonlyArray<Finding>;
  /** Inputs that took more than a second (not a rule break: a hang is one past the time limit). */
  readonly slow: number;
  /** Slowest input, ms, and which. */
  readonly slowest: { readonly ms: number; readonly mutant: string };
  /** Largest worker resident set size seen, bytes. */
  readonly peakRss: number;
  readonly seconds: number;
}

/** Runs `list` through a pool of `workers` and judges every answer. */
export async function campaign(
  list: Iterable<Mutant>,
  options: {
    readonly workers: number;
    readonly timeoutMs: number;
    readonly onProgress?: (done: number) => void;
  },
): Promise<Report> {
  const t0 = performance.now();
  const pool = new FuzzPool(options.workers, options.timeoutMs);
  const codes: Record<string, number> = {};
  const findings: Finding[] = [];
  let total = 0, ok = 0, warned = 0, hangs = 0, peakRss = 0, slow = 0;
  let slowest = { ms: 0, mutant: "" };
  const one = async (m: Mutant) => {
    const name = `${m.base} #${m.id} (${m.label})`;
    const reply = await pool.decode(m.id, m.bytes);
    total++;
    options.onProgress?.(total);
    if (reply === undefined) {
      hangs++;
      findings.push({ mutant: name, problems: [`no answer within ${options.timeoutMs} ms`] });
      return;
    }
    const o: Outcome = reply.outcome;
    if (o.ok) ok++;
    if (o.ok && (o.warnings?.length ?? 0) > 0) warned++;
    if (!o.ok) codes[o.code ?? o.name ?? "?"] = (codes[o.code ?? o.name ?? "?"] ?? 0) + 1;
    if (o.ms > slowest.ms) slowest = { ms: o.ms, mutant: name };
    if (o.ms > 1000) slow++;
    peakRss = Math.max(peakRss, o.rss ?? 0);
    const found = [...problems(o), ...reply.other];
    if (found.length > 0) findings.push({ mutant: name, problems: found });
  };
  try {
    const running = new Set<Promise<void>>();
    for (const m of list) {
      const p: Promise<void> = one(m).then(() => void running.delete(p));
      running.add(p);
      if (running.size >= options.workers * 2) await Promise.race(running);
    }
    await Promise.all(running);
  } finally {
    pool.close();
  }
  return {
    total,
    ok,
    warned,
    codes,
    hangs,
    findings,
    slow,
    slowest,
    peakRss,
    seconds: (performance.now() - t0) / 1000,
  };
}

const PIPELINE = `dcmflow: 1
name: fuzz
stages:
  - use: decode
  - use: write
    with: { format: npy }
`;

/**
 * Runs mutants through a `decode` -> `write` pipeline on the CPU, in `dir`, and checks the ledger: one
 * entry per input, every error coded with a clean message, no output file for a failed input, and the
 * outputs of the others present. Returns the problems found.
 */
export async function pipelineCheck(list: ReadonlyArray<Mutant>, dir: string): Promise<string[]> {
  const input = join(dir, "in");
  const out = join(dir, "out");
  mkdirSync(input, { recursive: true });
  const names = list.map((m) => `m${String(m.id).padStart(6, "0")}`);
  list.forEach((m, i) => writeFileSync(join(input, `${names[i]}.dcm`), m.bytes));
  writeFileSync(join(dir, "fuzz.yaml"), PIPELINE);
  const ledger = await runPipelinePromise(join(dir, "fuzz.yaml"), { inputs: [input], out, device: "cpu" });
  const found: string[] = [];
  if (ledger.inputs.length !== list.length) {
    found.push(`ledger has ${ledger.inputs.length} entries for ${list.length} inputs`);
  }
  const seen = new Set<string>();
  for (const e of ledger.inputs) {
    const name = e.input.split(/[\\/]/).pop()!.replace(/\.dcm$/, "");
    const m = list[names.indexOf(name)];
    const who = m ? `${m.base} #${m.id} (${m.label})` : e.input;
    if (seen.has(name)) found.push(`${who}: in the ledger twice`);
    seen.add(name);
    const npy = join(out, `${name}.npy`);
    if (e.status === "error") {
      if (!CODES.has(e.error?.code ?? "")) found.push(`${who}: ledger code ${e.error?.code}`);
      found.push(...textProblems(e.error?.message ?? "", "ledger message").map((p) => `${who}: ${p}`));
      if (e.outputs.length > 0 || existsSync(npy)) found.push(`${who}: failed but left an output`);
    } else if (!existsSync(npy)) {
      found.push(`${who}: ok but ${npy} is missing`);
    }
  }
  return found;
}
