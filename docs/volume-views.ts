/**
 * Makes docs/ct-volume-views.png, the README's picture of the 3-D example, from dcmflow's own output: runs
 * pipelines/ct-volume-1mm.yaml over samples/ct-volume, reads the NIfTI it wrote, and puts the three
 * orthogonal mid-slices side by side (axial, coronal, sagittal; superior up, the patient's left on the
 * image's right), mapping the window's output range [0, 1] to 0..255.
 *
 *     deno run -A docs/volume-views.ts
 *
 * @module
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runPipelinePromise } from "../mod.ts";
import { previewPng } from "../plugins/write/png.ts";

/** A NIfTI-1 volume: dimensions (i, j, k) and scaled values, i fastest. */
export interface NiftiVolume {
  readonly dims: readonly [number, number, number];
  readonly data: Float32Array;
}

/** Reads an uncompressed NIfTI-1 file with float32 or int16 data (what dcmflow writes for volumes). */
export function readNifti(bytes: Uint8Array): NiftiVolume {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = [1, 2, 3].map((i) => v.getInt16(40 + 2 * i, true)) as unknown as [number, number, number];
  const datatype = v.getInt16(70, true);
  const offset = v.getFloat32(108, true);
  const slope = v.getFloat32(112, true) || 1;
  const inter = v.getFloat32(116, true);
  const n = dims[0] * dims[1] * dims[2];
  const raw = bytes.slice(offset, offset + n * (datatype === 4 ? 2 : 4)).buffer;
  const values = datatype === 16 ? new Float32Array(raw) : datatype === 4 ? new Int16Array(raw) : undefined;
  if (!values) throw new Error(`NIfTI data type ${datatype} is not read here`);
  return { dims, data: Float32Array.from(values, (x) => x * slope + inter) };
}

/**
 * The three mid-slices of a volume side by side, 4 pixels apart, as one image `[1, 1, rows, cols]`:
 * axial (k = middle), coronal (j = middle) and sagittal (i = middle), the last two with k upwards.
 */
export function orthogonalViews(vol: NiftiVolume): { data: Float32Array; shape: number[] } {
  const [ni, nj, nk] = vol.dims;
  const at = (i: number, j: number, k: number) => vol.data[(k * nj + j) * ni + i];
  const views = [
    { rows: nj, cols: ni, get: (r: number, c: number) => at(c, r, nk >> 1) },
    { rows: nk, cols: ni, get: (r: number, c: number) => at(c, nj >> 1, nk - 1 - r) },
    { rows: nk, cols: nj, get: (r: number, c: number) => at(ni >> 1, c, nk - 1 - r) },
  ];
  const gap = 4;
  const rows = Math.max(...views.map((w) => w.rows));
  const cols = views.reduce((s, w) => s + w.cols, 0) + gap * (views.length - 1);
  const data = new Float32Array(rows * cols);
  let x0 = 0;
  for (const w of views) {
    const y0 = (rows - w.rows) >> 1;
    for (let r = 0; r < w.rows; r++) {
      for (let c = 0; c < w.cols; c++) data[(y0 + r) * cols + x0 + c] = w.get(r, c);
    }
    x0 += w.cols + gap;
  }
  return { data, shape: [1, 1, rows, cols] };
}

/** gunzip with the runtime's DecompressionStream. */
export const gunzip = async (bytes: Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(
    await new Response(
      new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")),
    )
      .arrayBuffer(),
  );

if (import.meta.main) {
  const out = mkdtempSync(join(tmpdir(), "dcmflow-volume-"));
  const ledger = await runPipelinePromise("pipelines/ct-volume-1mm.yaml", {
    inputs: ["samples/ct-volume"],
    out,
  });
  if (ledger.summary.ok !== 1) throw new Error(`the example failed: ${JSON.stringify(ledger.inputs)}`);
  const nii = readdirSync(out).find((f) => f.endsWith(".nii.gz"))!;
  const vol = readNifti(await gunzip(new Uint8Array(readFileSync(join(out, nii)))));
  const views = orthogonalViews(vol);
  writeFileSync("docs/ct-volume-views.png", await previewPng(views.data, views.shape, 0, { min: 0, max: 1 }));
  console.log(`docs/ct-volume-views.png from ${nii} [${vol.dims.join(" x ")}]`);
}
