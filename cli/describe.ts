/**
 * Human-readable text for the CLI: plans, stage catalogues, headers, run summaries.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { join } from "node:path";
import {
  displayPath,
  formatSpec,
  type FramePrediction,
  type ImageMeta,
  isSourceStage,
  type Ledger,
  type LedgerEntry,
  ledgerName,
  type MergeResult,
  type Plan,
  type Registry,
  type Stage,
  type StartInfo,
  suvBodyWeight,
} from "../mod.ts";

/** Where a stage can run with these params: fused (elementwise), its GPU kernel, or the CPU only. */
const placement = (stage: Stage, params: unknown): string =>
  isSourceStage(stage)
    ? stage.prepare ? "[cpu parse, raw upload]" : "[cpu]"
    : stage.elementwise && (stage.elementwise.applies?.(params) ?? true)
    ? "[gpu: fused]"
    : stage.gpu
    ? "[gpu: kernel]"
    : "[cpu]";

/** One line per frame for the run summary, e.g. `nodule 0.973` or `mask 2.4% (97 px)`. */
export const describeFramePrediction = (p: FramePrediction): string =>
  "top" in p
    ? p.top.map((c) => `${c.label ?? `class ${c.index}`} ${c.score.toFixed(3)}`).join(", ")
    : `mask ${(p.positiveFraction * 100).toFixed(1)}% (${p.pixels} px)`;

/** The plan, one line per stage with the tensor it produces and where it can run. */
export const describePlan = (plan: Plan): string => {
  const all = [plan.source, ...plan.stages];
  const width = Math.max(...all.map((s) => s.label.length));
  const specs = all.map((s) => `-> ${formatSpec(s.output)}`);
  const specWidth = Math.max(...specs.map((t) => t.length));
  const lines = all.map((s, i) =>
    `  ${String(i + 1).padStart(2)}. ${s.label.padEnd(width)}  ${specs[i].padEnd(specWidth)}  ${
      placement(s.stage, s.params)
    }` +
    (s.decl.id !== undefined ? `  (use: ${s.decl.use})` : "")
  );
  return [
    `${plan.pipeline.file}: ok - "${plan.pipeline.name}", ${all.length} stages, device ${plan.pipeline.device}` +
    (plan.writes.length > 0 ? `, writes ${plan.writes.map((w) => `.${w}`).join(" ")}` : "") +
    (plan.collections.length > 0
      ? `, collects ${
        plan.collections.map((c) => c.collection.files.map((f) => `${c.collection.name}.${f}`).join(" + "))
          .join(", ")
      }`
      : ""),
    ...lines,
    "  (with --device gpu, [gpu: fused] stages in a row become one kernel; [cpu] stages get the data read back)",
    ...plan.warnings.map((w) => `warning: ${w}`),
  ].join("\n");
};

interface JsonProp {
  readonly type?: string;
  readonly enum?: ReadonlyArray<unknown>;
  readonly anyOf?: ReadonlyArray<JsonProp>;
  readonly items?: JsonProp | ReadonlyArray<JsonProp>;
  readonly description?: string;
  readonly prefixItems?: ReadonlyArray<JsonProp>;
}

const typeOf = (p: JsonProp): string => {
  if (p.enum) return p.enum.map((e) => JSON.stringify(e)).join(" | ");
  if (p.anyOf) return p.anyOf.map(typeOf).join(" | ");
  if (p.type === "array") {
    if (p.prefixItems) return `[${p.prefixItems.map(typeOf).join(", ")}]`;
    return `${p.items && !Array.isArray(p.items) ? typeOf(p.items as JsonProp) : "unknown"}[]`;
  }
  return p.type ?? "unknown";
};

/** Parameters of a stage from its Schema: name, type, required, description. */
export const stageParams = (stage: Stage) => {
  const doc = Schema.toJsonSchemaDocument(stage.params).schema as {
    properties?: Record<string, JsonProp>;
    required?: ReadonlyArray<string>;
  };
  return Object.entries(doc.properties ?? {}).map(([name, prop]) => ({
    name,
    type: typeOf(prop),
    required: doc.required?.includes(name) ?? false,
    description: prop.description ?? "",
  }));
};

/** The `dcmflow plugins` catalogue. */
export const describeStages = (registry: Registry): string => {
  const out: string[] = [];
  for (const { stage, origin } of registry.stages.values()) {
    const io = isSourceStage(stage)
      ? `file -> ${stage.produces}`
      : `${stage.accepts.join("|")} -> ${stage.produces}`;
    out.push(`${stage.name}  (${origin}; ${io})`, `  ${stage.description}`);
    for (const p of stageParams(stage)) {
      out.push(
        `    ${p.name}${p.required ? "" : "?"}: ${p.type}${p.description ? `  - ${p.description}` : ""}`,
      );
    }
    for (const ex of stage.examples ?? []) out.push(`    e.g. with: ${JSON.stringify(ex)}`);
    out.push("");
  }
  return out.join("\n");
};

/** The `dcmflow inspect` summary of one file's header. */
/** Per-frame values at a glance: their range, and how many differ. */
const spread = (values: ReadonlyArray<number>): string => {
  const known = values.filter((v) => !Number.isNaN(v));
  const distinct = new Set(known).size;
  const missing = values.length - known.length;
  const lo = known.reduce((a, b) => Math.min(a, b), Infinity);
  const hi = known.reduce((a, b) => Math.max(a, b), -Infinity);
  const range = known.length > 0 ? `${lo}..${hi}` : "none";
  return `${range} (${distinct} distinct${missing > 0 ? `, ${missing} frame(s) without` : ""})`;
};

export const describeHeader = (
  file: string,
  meta: ImageMeta,
  syntax: { readonly name: string; readonly supported: boolean } | undefined,
): string => {
  const row = (k: string, v: unknown) => (v === undefined || v === "" ? [] : [`  ${k.padEnd(22)} ${v}`]);
  const signed = meta.pixelRepresentation === 1 ? "signed" : "unsigned";
  const windows = meta.windows.map((w) =>
    `${w.center}/${w.width}${w.explanation ? ` (${w.explanation})` : ""}`
  );
  const lut = (t: { entries: number; firstMapped: number; bits: number; explanation?: string }) =>
    `${t.entries} entries from ${t.firstMapped}, ${t.bits}-bit${t.explanation ? ` (${t.explanation})` : ""}`;
  const palette = meta.palette;
  return [
    displayPath(file),
    ...row("transfer syntax", `${syntax?.name ?? "unknown"} (${meta.transferSyntaxUid})`),
    ...row("decodable", syntax?.supported ? "yes" : "no - no codec for this transfer syntax"),
    ...row("codec", syntax?.supported ? meta.codec : undefined),
    ...row("modality", meta.modality),
    ...row("SOP class", meta.sopClassUid),
    ...row("SOP instance", meta.sopInstanceUid),
    ...row("geometry", `${meta.frames} frame(s) x ${meta.rows} rows x ${meta.cols} cols`),
    ...row("pixel spacing (mm)", meta.pixelSpacing?.join(" x ")),
    ...row("slice thickness (mm)", meta.sliceThickness),
    ...row(
      "photometric",
      meta.photometric +
        (meta.decodedPhotometric && meta.decodedPhotometric !== meta.photometric
          ? ` (decoded as ${meta.decodedPhotometric})`
          : ""),
    ),
    ...row(
      "samples per pixel",
      meta.samplesPerPixel +
        (meta.samplesPerPixel > 1 ? `, planar configuration ${meta.planarConfiguration ?? 0}` : ""),
    ),
    ...row(
      "bits",
      meta.floatPixelData
        ? `${meta.floatPixelData} (${meta.bitsAllocated}-bit float pixel data)`
        : `allocated ${meta.bitsAllocated}, stored ${meta.bitsStored}, high bit ${meta.highBit}, ${signed}`,
    ),
    ...row("palette LUT", palette ? `${lut(palette)}${palette.segmented ? ", segmented" : ""}` : undefined),
    ...row(
      "modality LUT",
      meta.modalityLut
        ? `LUT sequence: ${lut(meta.modalityLut)}`
        : meta.frameRescale
        ? `per frame: slope ${spread(meta.frameRescale.slopes)}, intercept ${
          spread(meta.frameRescale.intercepts)
        }` +
          (meta.rescaleType ? ` (${meta.rescaleType})` : "")
        : `slope ${meta.rescaleSlope}, intercept ${meta.rescaleIntercept}` +
          (meta.rescaleType ? ` (${meta.rescaleType})` : ""),
    ),
    ...row(
      "windows",
      meta.frameVoi
        ? `per frame: frame 1 ${windows.length > 0 ? windows.join(", ") : "none"}; centers ` +
          `${spread(meta.frameVoi.map((v) => v.windows[0]?.center ?? NaN))}, widths ` +
          spread(meta.frameVoi.map((v) => v.windows[0]?.width ?? NaN))
        : windows.length > 0
        ? windows.join(", ")
        : "none",
    ),
    ...row("VOI LUT function", meta.voiLutFunction),
    ...row(
      "VOI LUT sequence",
      meta.voiLuts?.length ? meta.voiLuts.map((t, i) => `[${i}] ${lut(t)}`).join("; ") : undefined,
    ),
    ...row("presentation LUT", meta.presentationLutShape),
    ...row(
      "real world values",
      meta.realWorld
        ? meta.realWorld.map((m, i) =>
          `[${i}] ${m.units ?? "no units"}${m.label ? ` ${m.label}` : ""}: ` +
          (m.lut ? `table of ${m.lut.length}` : `x ${m.slope} + ${m.intercept}`) +
          ` on ${m.firstMapped}..${m.lastMapped}`
        ).join("; ") + (meta.frameRealWorld ? " (frame 1; each frame has its own)" : "")
        : undefined,
    ),
    ...row("SUV (body weight)", meta.modality === "PT" ? describeSuv(meta) : undefined),
  ].join("\n");
};

/** What the `suv` stage would do with a PET file: its factor and where it comes from, or why it refuses. */
const describeSuv = (meta: ImageMeta): string => {
  const r = suvBodyWeight(meta.dataset);
  if (!r.ok) return `not computable (${r.code}): ${r.message}`;
  const f = r.factor;
  if (f.decayCorrection === undefined) return `x ${f.scale} (Units ${f.units}: already SUV)`;
  const decay = f.decaySeconds ? `, decayed ${(f.decaySeconds / 60).toFixed(1)} min to the scan start` : "";
  return `x ${f.scale.toPrecision(6)} (${f.weightKg} kg, ${
    (f.injectedDoseBq! / 1e6).toFixed(1)
  } MBq injected` +
    `${decay}; DecayCorrection ${f.decayCorrection})`;
};

/** The line printed on standard error when a run starts. */
export const describeStart = (info: StartInfo, out: string): string => {
  const { device } = info;
  const note = device.note ? ` (${device.note})` : "";
  const where = `${device.kind === "gpu" ? "GPU " : ""}${device.adapter}${note}`;
  const workers = device.kind === "cpu" ? `, ${info.workers || "no"} worker thread(s)` : "";
  const shard = info.shard ? `, shard ${info.shard.index}/${info.shard.count}` : "";
  const resumed = info.resumed > 0 ? `, ${info.resumed} done before (--resume)` : "";
  return `dcmflow: ${info.total} input(s)${shard}${resumed} -> ${out} on ${where}${workers}\n`;
};

/** One line per run-level output, e.g. `stacked out/ds.npy [120, 1, 224, 224] float32 + out/ds.index.csv`. */
const describeCollection = (c: NonNullable<Ledger["collected"]>[number]): string => {
  if (c.error) return `  FAILED ${c.name} (${c.stage}): ${c.error.code} - ${c.error.message}`;
  const [first, ...rest] = c.outputs;
  const shape = c.shape ? ` [${c.shape.join(", ")}]${c.dtype ? ` ${c.dtype}` : ""}` : ` (${c.rows} rows)`;
  return `  stacked ${first}${shape}${rest.length > 0 ? ` + ${rest.join(" + ")}` : ""}`;
};

/** Inputs with predictions the summary lists, and failed inputs. */
const LISTED_PREDICTIONS = 30;
const LISTED_FAILURES = 20;

/**
 * What the end-of-run summary says about the entries, gathered one entry at a time (from the run's progress
 * events, so the run need not keep its entries): files written, the first inputs with predictions and the
 * first failures - a bounded amount whatever the number of inputs.
 */
export class RunDigest {
  outputs = 0;
  readonly predicted: LedgerEntry[] = [];
  predictedCount = 0;
  /** The longest displayed path among all inputs with predictions (the table's width). */
  predictedWidth = 5;
  readonly failed: LedgerEntry[] = [];
  failedCount = 0;

  /** The digest of a list of entries. */
  static of(entries: ReadonlyArray<LedgerEntry>): RunDigest {
    const digest = new RunDigest();
    for (const e of entries) digest.add(e);
    return digest;
  }

  /** Adds one recorded entry. */
  add(e: LedgerEntry): void {
    this.outputs += e.outputs.length;
    if (e.predictions && e.predictions.length > 0) {
      if (this.predictedCount++ < LISTED_PREDICTIONS) this.predicted.push(e);
      this.predictedWidth = Math.max(this.predictedWidth, displayPath(e.input).length);
    }
    if (e.status === "error" && this.failedCount++ < LISTED_FAILURES) this.failed.push(e);
  }
}

/**
 * The end-of-run summary printed on standard output; `digest` when the ledger's entries were not kept (see
 * `keepEntries`), else made from them.
 */
export const describeLedger = (
  ledger: Ledger,
  out: string,
  seconds: number,
  digest: RunDigest = RunDigest.of(ledger.inputs),
): string => {
  const { total, ok, error, pending, resumed } = ledger.summary;
  const extra = [
    pending ? `${pending} not processed (${ledger.interrupted}; --resume to finish)` : "",
    resumed ? `${resumed} resumed` : "",
  ].filter((t) => t !== "").map((t) => `, ${t}`).join("");
  const lines = [
    `dcmflow ${ledger.pipeline.name}: ${total} input(s), ${ok} ok, ${error} failed${extra}, on ` +
    `${ledger.device.adapter}, ${seconds.toFixed(2)} s`,
    `  wrote ${digest.outputs} file(s) under ${out}`,
    ...(ledger.collected ?? []).map(describeCollection),
    `  ledger ${join(out, ledgerName(ledger.shard))}`,
  ];
  if (digest.predictedCount > 0) {
    const width = Math.min(48, digest.predictedWidth);
    lines.push("  predictions:", `    ${"input".padEnd(width)}  prediction`);
    for (const e of digest.predicted) {
      const frames = e.predictions!;
      const text = frames.length === 1
        ? describeFramePrediction(frames[0])
        : frames.map((p, i) => `f${i + 1}: ${describeFramePrediction(p)}`).slice(0, 4).join("; ") +
          (frames.length > 4 ? `; ... (${frames.length} frames)` : "");
      lines.push(`    ${displayPath(e.input).padEnd(width)}  ${text}`);
    }
    if (digest.predictedCount > LISTED_PREDICTIONS) {
      lines.push(`    ... and ${digest.predictedCount - LISTED_PREDICTIONS} more (see the ledger)`);
    }
  }
  if (digest.failedCount > 0) {
    lines.push("  failed:");
    for (const e of digest.failed) {
      lines.push(`    ${displayPath(e.input)}: ${e.error?.code} - ${e.error?.message}`);
    }
    if (digest.failedCount > LISTED_FAILURES) {
      lines.push(`    ... and ${digest.failedCount - LISTED_FAILURES} more (see the ledger)`);
    }
  }
  return lines.join("\n");
};

/** What `dcmflow merge` prints. */
export const describeMerge = (r: MergeResult): string => {
  const { total, ok, error, pending } = r.ledger.summary;
  const lines = [
    `dcmflow merge: ${r.count} shard(s) -> ${r.path}: ${total} input(s), ${ok} ok, ${error} failed` +
    (pending ? `, ${pending} pending` : ""),
  ];
  if (r.missing.length > 0) {
    lines.push(`  missing shard(s): ${r.missing.join(", ")} (no ledger: not run yet, or still running)`);
  }
  for (const u of r.unfinished) lines.push(`  shard ${u.shard} unfinished: ${u.why}; rerun it with --resume`);
  const failed = r.ledger.inputs.filter((e) => e.status === "error");
  for (const e of failed.slice(0, 20)) {
    lines.push(`  ${displayPath(e.input)}: ${e.error?.code} - ${e.error?.message}`);
  }
  if (failed.length > 20) lines.push(`  ... and ${failed.length - 20} more (see the ledger)`);
  return lines.join("\n");
};
