/**
 * A sequential DCT JPEG decoder (ITU-T T.81 processes 1, 2 and 4: baseline and extended, Huffman coding,
 * 8- and 12-bit samples) in pure TypeScript, for JPEG Extended 12-bit (1.2.840.10008.1.2.4.51), which the
 * 8-bit libjpeg-turbo WASM build cannot read (and no maintained WASM build of libjpeg's 12-bit path that
 * loads in Deno and Bun does: `dcmjs-codecs` 0.0.8, which `dcmjs-imaging` uses, transcodes baseline and
 * lossless JPEG but refuses 1.2.840.10008.1.2.4.51).
 *
 * It reproduces the IJG libjpeg 6b defaults that DCMTK's `dcmdjpeg` (and libjpeg-turbo) use, step for step:
 * the integer "islow" IDCT (jpeg_idct.ts), "fancy" chroma upsampling and the fixed-point YCbCr -> RGB tables
 * (jpeg_output.ts). Its output therefore equals the reference decoders' bit for bit on valid streams (the
 * tests check it against dcmdjpeg). The frame header and colour markers come from jpeg_markers.ts; this
 * file reads the tables and scans.
 *
 * Corrupt data is an INVALID_DICOM error and data that ends early a TRUNCATED one; nothing is filled in.
 *
 * @module
 */
import { DicomDecodeError } from "../errors.ts";
import {
  type AcTable,
  acTable,
  BitReader,
  buildHuffman,
  clearBlock,
  corrupt,
  endOfScan,
  type Huffman,
  NATURAL,
  passRestart,
  readHuffmanTables,
  scansMissing,
} from "./jpeg_huffman.ts";
import { Idct } from "./jpeg_idct.ts";
import {
  forEachSegment,
  isYcbcr,
  type JpegHeader,
  readJpegHeader,
  type Segment,
  sofName,
} from "./jpeg_markers.ts";
import { type ComponentPlane, frameOutput } from "./jpeg_output.ts";
import type { DecodedFrame, FrameCodec, FrameRequest } from "./types.ts";

/** The pure-TypeScript sequential DCT decoder as a {@link FrameCodec}. */
export const jpegDctCodec: FrameCodec = {
  name: "built-in sequential DCT JPEG decoder (8/12-bit, IJG-exact, pure TypeScript)",
  decode: (data, request) => new DctDecoder(data, request).decode(),
};

/** A frame component being decoded. */
interface Component extends ComponentPlane {
  readonly id: number;
  readonly tq: number;
  /** DC predictor. */
  pred: number;
  dc?: Huffman;
  ac?: AcTable;
  decoded: boolean;
}

/** Decodes one frame: tables and scans in stream order, then the output frame. */
class DctDecoder {
  private readonly header: JpegHeader;
  private readonly where: string;
  private readonly quant: (Int32Array | undefined)[] = [];
  private readonly dcTables: (Huffman | undefined)[] = [];
  private readonly acTables: (AcTable | undefined)[] = [];
  private restartInterval = 0;
  private readonly comps: Component[];
  private readonly mcusX: number;
  private readonly mcusY: number;
  private readonly idct: Idct;
  private readonly block = new Int32Array(64);

  /** @throws DicomDecodeError for processes or precisions this decoder does not implement */
  constructor(private readonly d: Uint8Array, private readonly request: FrameRequest) {
    this.where = `frame ${request.frame}`;
    const h = readJpegHeader(d, request.frame);
    this.header = h;
    checkProcess(h, this.where);
    const hmax = Math.max(...h.components.map((c) => c.h));
    const vmax = Math.max(...h.components.map((c) => c.v));
    this.mcusX = Math.ceil(h.cols / (8 * hmax));
    this.mcusY = Math.ceil(h.rows / (8 * vmax));
    this.comps = h.components.map((c) => {
      const stride = this.mcusX * c.h * 8;
      return {
        ...c,
        width: Math.ceil((h.cols * c.h) / hmax),
        height: Math.ceil((h.rows * c.v) / vmax),
        stride,
        plane: new Uint16Array(stride * this.mcusY * c.v * 8),
        pred: 0,
        decoded: false,
      };
    });
    this.idct = new Idct(h.precision);
  }

  /** @throws DicomDecodeError INVALID_DICOM (corrupt) or TRUNCATED (cut short) */
  decode(): DecodedFrame {
    forEachSegment(this.d, this.where, "JPEG", (s) => {
      if (s.marker === 0xdb) this.defineQuant(s);
      else if (s.marker === 0xc4) this.defineHuffman(s);
      else if (s.marker === 0xdd) this.restartInterval = (this.d[s.body] << 8) | this.d[s.body + 1];
      else if (s.marker === 0xda) return this.scan(s);
    });
    const missing = this.comps.filter((c) => !c.decoded);
    if (missing.length > 0) throw scansMissing(missing.map((c) => c.id), this.where, "JPEG");
    return frameOutput(this.comps, this.header, isYcbcr(this.header, this.request.photometric));
  }

  /** DQT: 8- or 16-bit quantization tables, stored in natural order. */
  private defineQuant(s: Segment): void {
    const d = this.d;
    for (let q = s.body; q < s.end;) {
      const pq = d[q] >> 4;
      const tq = d[q] & 15;
      q++;
      const size = pq === 0 ? 64 : 128;
      if (q + size > s.end) throw corrupt(`${this.where}: a quantization table overruns its segment`);
      const table = new Int32Array(64);
      for (let i = 0; i < 64; i++) {
        table[NATURAL[i]] = pq === 0 ? d[q + i] : (d[q + 2 * i] << 8) | d[q + 2 * i + 1];
      }
      q += size;
      this.quant[tq] = table;
    }
  }

  /** DHT: DC and AC Huffman tables. */
  private defineHuffman(s: Segment): void {
    readHuffmanTables(this.d, s.body, s.end, this.where, (tc, th, counts, values) => {
      if (tc === 0) this.dcTables[th] = buildHuffman(counts, values, this.where);
      else this.acTables[th] = acTable(counts, values, this.where);
    });
  }

  /** SOS: the scan's components and tables, then its entropy-coded data; returns where the next marker is. */
  private scan(s: Segment): number {
    const d = this.d;
    const scan: Component[] = [];
    for (let i = 0; i < d[s.body]; i++) {
      const id = d[s.body + 1 + 2 * i];
      const t = d[s.body + 2 + 2 * i];
      const c = this.comps.find((x) => x.id === id);
      if (!c) throw corrupt(`${this.where}: a scan names component ${id}, which the frame does not have`);
      c.dc = this.dcTables[t >> 4];
      c.ac = this.acTables[t & 15];
      if (!c.dc || !c.ac) throw corrupt(`${this.where}: a scan uses a Huffman table that was never defined`);
      if (!this.quant[c.tq]) {
        throw corrupt(`${this.where}: component ${id} uses quantization table ${c.tq}, which no DQT defined`);
      }
      c.pred = 0;
      scan.push(c);
    }
    const end = this.units(new BitReader(d, s.end), scan);
    for (const c of scan) c.decoded = true;
    return end;
  }

  /** The MCUs (interleaved) or blocks (one component) of a scan, with restart markers. */
  private units(r: BitReader, scan: Component[]): number {
    const c0 = scan[0];
    const single = scan.length === 1;
    // A non-interleaved scan codes the component's own blocks; an interleaved one whole MCUs.
    const unitsX = single ? Math.ceil(c0.width / 8) : this.mcusX;
    const total = unitsX * (single ? Math.ceil(c0.height / 8) : this.mcusY);
    for (let u = 0, restarts = 0; u < total; u++) {
      if (this.restartInterval > 0 && u > 0 && u % this.restartInterval === 0) {
        this.restart(r, scan, restarts++);
      }
      const ux = u % unitsX;
      const uy = (u - ux) / unitsX;
      if (single) {
        this.block8(r, c0, uy, ux);
        continue;
      }
      for (const c of scan) {
        for (let v = 0; v < c.v; v++) {
          for (let h = 0; h < c.h; h++) this.block8(r, c, uy * c.v + v, ux * c.h + h);
        }
      }
    }
    return endOfScan(r, this.where, "JPEG");
  }

  /** One 8 x 8 block of component `c` at block row `by`, column `bx` (a DC-only block skips the IDCT). */
  private block8(r: BitReader, c: Component, by: number, bx: number): void {
    const block = this.block;
    const last = r.readBlock(c.dc!, c.ac!, c.pred, block);
    c.pred = block[0];
    const at = by * 8 * c.stride + bx * 8;
    if (last === 0) this.idct.dcOnly(block[0], this.quant[c.tq]!, c.plane, at, c.stride);
    else this.idct.run(block, this.quant[c.tq]!, c.plane, at, c.stride);
    clearBlock(block, last);
  }

  /** The restart marker RSTn expected after `restartInterval` units: resets the bit reader and predictors. */
  private restart(r: BitReader, scan: Component[], n: number): void {
    passRestart(r, n, this.where, "JPEG");
    for (const c of scan) c.pred = 0;
  }
}

/** Only sequential Huffman DCT (SOF0 / SOF1), 8 or 12 bits, with the height in the frame header. */
function checkProcess(h: JpegHeader, where: string): void {
  if (h.sof !== 0xc0 && h.sof !== 0xc1) {
    throw new DicomDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      `JPEG data of ${where} uses a process this decoder does not implement (${sofName(h.sof)}); only ` +
        "sequential Huffman DCT (SOF0/SOF1) is supported here.",
    );
  }
  if (h.precision !== 8 && h.precision !== 12) {
    throw new DicomDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      `JPEG DCT data of ${where} has ${h.precision}-bit samples (only 8 and 12 exist).`,
    );
  }
  if (h.rows === 0) {
    throw new DicomDecodeError(
      "UNSUPPORTED_PIXEL_DATA",
      `JPEG data of ${where} defines its height later (DNL marker), which is not supported.`,
    );
  }
  if (
    h.cols === 0 || h.components.length === 0 ||
    h.components.some((c) => c.h < 1 || c.v < 1 || c.h > 4 || c.v > 4)
  ) {
    throw corrupt(`${where}: the frame header has a zero width, no components or invalid sampling factors`);
  }
}
