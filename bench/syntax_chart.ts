/**
 * How much faster than the PyTorch recipe dcmflow is, per transfer syntax, as a picture: runs
 * `bench/whole_process.ts`'s comparison (seed recipe, CPU path, 3 alternating rounds, medians) on the same
 * synthetic 512² CT slices stored in each syntax this machine can make and the recipe can read (see
 * `canCompare`), and writes a bar chart of the ratios (recipe time / dcmflow time) as SVG, with the measured
 * times beside it as JSON (`--render` draws the chart again from that JSON without measuring).
 *
 *   deno run -A bench/syntax_chart.ts [--size 1024] [--out docs/speed-by-syntax.svg] [--dir /dev/shm] [--render]
 *
 * Needs `/usr/bin/python3` with pydicom, torch and torchvision, dcmtk and python3-gdcm (~10 minutes on 2 cores,
 * most of it JPEG 2000).
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { runtimeName } from "../core/platform.ts";
import { flagOption, numberOption, textOption } from "./options.ts";
import { canCompare, median, type Syntax, wholeProcess } from "./whole_process.ts";

/** The syntaxes charted, with their labels. */
const ROWS: ReadonlyArray<[Syntax, string]> = [
  ["native", "uncompressed"],
  ["rle", "RLE Lossless"],
  ["jpeg-lossless", "JPEG Lossless SV1"],
  ["jpeg-ls", "JPEG-LS lossless"],
  ["jpeg-extended", "JPEG extended 12-bit"],
  ["jpeg2000", "JPEG 2000 lossless"],
];

/** One bar: the label, the ratio, and the two times it comes from. */
interface Bar {
  readonly label: string;
  readonly ratio: number;
  readonly dcmflow: number;
  readonly recipe: number;
}

/** The comparison of each syntax at `size` slices (the ones this machine cannot make are left out). */
const measure = (size: number): Bar[] =>
  ROWS.filter(([syntax]) => canCompare(syntax)).map(([syntax, label]) => {
    const results = wholeProcess({ syntax, gpu: false, sizes: [size] }).get(size)!;
    const seconds = (prefix: string) =>
      median([...results].find(([name]) => name.startsWith(prefix))![1].map((s) => s.seconds));
    const dcmflow = seconds("dcmflow");
    const recipe = seconds("PyTorch");
    return { label, ratio: recipe / dcmflow, dcmflow, recipe };
  });

const escape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;");

/** A horizontal bar chart of the ratios, with a line at 1× (as fast as the recipe); `title` is two lines. */
export const chartSvg = (bars: ReadonlyArray<Bar>, title: readonly [string, string]): string => {
  const [left, width, row, top] = [190, 420, 30, 64];
  const max = Math.max(2, Math.ceil(Math.max(...bars.map((b) => b.ratio))));
  const x = (r: number) => left + (r / max) * width;
  const height = top + bars.length * row + 40;
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${
      Math.max(left + width + 220, Math.ceil(20 + 6.8 * title[1].length))
    }" height="${height}" ` +
    `font-family="sans-serif" font-size="13">`,
    `<rect width="100%" height="100%" fill="white" />`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${escape(title[0])}</text>`,
    `<text x="10" y="42" fill="#555">${escape(title[1])}</text>`,
  ];
  bars.forEach((b, i) => {
    const y = top + i * row;
    lines.push(
      `<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escape(b.label)}</text>`,
      `<rect x="${left}" y="${y + 4}" width="${(x(b.ratio) - left).toFixed(1)}" height="${row - 10}" ` +
        `fill="#3b7dd8" />`,
      `<text x="${(x(b.ratio) + 6).toFixed(1)}" y="${y + 17}">${b.ratio.toFixed(1)}× ` +
        `(${b.dcmflow.toFixed(2)} s vs ${b.recipe.toFixed(2)} s)</text>`,
    );
  });
  const axis = top + bars.length * row + 6;
  lines.push(
    `<line x1="${x(1)}" y1="${top}" x2="${x(1)}" y2="${axis}" stroke="#c33" stroke-dasharray="4 3" />`,
  );
  lines.push(
    `<text x="${x(1)}" y="${axis + 16}" text-anchor="middle" fill="#c33">1× = the PyTorch recipe</text>`,
  );
  return [lines[0], ...lines.slice(1).map((l) => `  ${l}`), "</svg>", ""].join("\n");
};

/** What the chart shows, as measured (written beside the SVG). */
interface Measured {
  readonly size: number;
  readonly runtime: string;
  readonly cores: number;
  readonly date: string;
  readonly bars: ReadonlyArray<Bar>;
}

if (import.meta.main) {
  const out = textOption("out", "docs/speed-by-syntax.svg");
  const json = out.replace(/\.svg$/, ".json");
  const size = numberOption("size", 1024);
  const m: Measured = flagOption("render") ? JSON.parse(readFileSync(json, "utf8")) : {
    size,
    runtime: runtimeName(),
    cores: availableParallelism(),
    date: new Date().toISOString().slice(0, 10),
    bars: measure(size),
  };
  if (!flagOption("render")) writeFileSync(json, JSON.stringify(m, null, 2) + "\n");
  const title = [
    "dcmflow against the PyTorch recipe, by how the slices are stored",
    `${
      m.size.toLocaleString("en")
    } synthetic 512² CT slices · seed recipe · whole process (dcmflow s vs recipe s) · ` +
    `median of 3 · ${m.runtime}, ${m.cores} cores · ${m.date}`,
  ] as const;
  writeFileSync(out, chartSvg(m.bars, title));
  // as deno fmt writes it: `deno task check` holds the committed file to that
  spawnSync(Deno.execPath(), ["fmt", "-q", out, json]);
  console.log(`\n${out}: ${m.bars.map((b) => `${b.label} ${b.ratio.toFixed(1)}×`).join(", ")}`);
}
