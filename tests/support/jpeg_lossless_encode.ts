/**
 * A small JPEG lossless (process 14) encoder for tests: what DCMTK's encoder does not make - restart
 * intervals, and components coded in scans of their own - so that the built-in decoder can be checked to
 * give back exactly the samples that went in. One fixed Huffman table (17 categories, 5-bit codes).
 *
 * @module
 */

/** What to encode: `planes` (one per component, row-major) of samples below 2^(precision - pt). */
export interface LosslessImage {
  readonly rows: number;
  readonly cols: number;
  readonly precision: number;
  readonly planes: ReadonlyArray<Uint16Array>;
  readonly predictor: number;
  readonly pointTransform?: number;
  /** Samples (MCUs) per restart interval, a multiple of `cols`; 0: none. */
  readonly restartInterval?: number;
  /** One scan for all components (the default), or one scan per component. */
  readonly interleaved?: boolean;
}

class BitWriter {
  readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  put(value: number, length: number): void {
    for (let i = length - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }

  /** Pads the last byte with 1 bits. */
  align(): void {
    while (this.n !== 0) this.put(1, 1);
  }

  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0);
    this.acc = 0;
    this.n = 0;
  }
}

const segment = (
  marker: number,
  body: number[],
) => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255, ...body];

/** The prediction of sample (x, y), as T.81 H.1.2.1 and the decoder define it. */
const prediction = (
  p: Uint16Array,
  cols: number,
  x: number,
  y: number,
  first: boolean,
  predictor: number,
  initial: number,
): number => {
  const i = y * cols + x;
  if (first) return x === 0 ? initial : p[i - 1];
  if (x === 0) return p[i - cols];
  const [ra, rb, rc] = [p[i - 1], p[i - cols], p[i - cols - 1]];
  return [
    0,
    ra,
    rb,
    rc,
    ra + rb - rc,
    ra + ((rb - rc) >> 1),
    rb + ((ra - rc) >> 1),
    (ra + rb) >> 1,
  ][predictor];
};

/** The difference category and its extra bits (T.81 H.1.2.2, F.1.2.1). */
const code = (diff: number): [number, number] => {
  let d = diff & 0xffff;
  if (d >= 32768) d -= 65536;
  if (d === 0) return [0, 0];
  if (d === -32768 || d === 32768) return [16, 0];
  const t = 32 - Math.clz32(Math.abs(d));
  return [t, d > 0 ? d : d + (1 << t) - 1];
};

/** The JPEG stream (SOI ... EOI). */
export function encodeLossless(image: LosslessImage): Uint8Array {
  const { rows, cols, precision, planes, predictor } = image;
  const pt = image.pointTransform ?? 0;
  const interval = image.restartInterval ?? 0;
  const n = planes.length;
  const out: number[] = [0xff, 0xd8];
  const sof = [precision, rows >> 8, rows & 255, cols >> 8, cols & 255, n];
  for (let c = 0; c < n; c++) sof.push(c + 1, 0x11, 0);
  out.push(...segment(0xc3, sof));
  const counts = new Array(16).fill(0);
  counts[4] = 17; // categories 0..16, 5-bit codes 0..16
  out.push(...segment(0xc4, [0x00, ...counts, ...Array.from({ length: 17 }, (_, i) => i)]));
  if (interval > 0) out.push(...segment(0xdd, [interval >> 8, interval & 255]));
  const scans = image.interleaved === false ? planes.map((_, c) => [c]) : [planes.map((_, c) => c)];
  const initial = 1 << (precision - pt - 1);
  const linesPerInterval = interval > 0 ? interval / cols : rows;
  for (const scan of scans) {
    const sos = [scan.length];
    for (const c of scan) sos.push(c + 1, 0x00);
    sos.push(predictor, 0, pt);
    out.push(...segment(0xda, sos));
    const w = new BitWriter();
    let restarts = 0;
    for (let y = 0; y < rows; y++) {
      const first = y % linesPerInterval === 0;
      if (first && y > 0) {
        w.align();
        w.bytes.push(0xff, 0xd0 + (restarts++ & 7));
      }
      for (let x = 0; x < cols; x++) {
        for (const c of scan) {
          const p = planes[c];
          const [t, extra] = code(p[y * cols + x] - prediction(p, cols, x, y, first, predictor, initial));
          w.put(t, 5);
          if (t > 0 && t < 16) w.put(extra, t);
        }
      }
    }
    w.align();
    for (const b of w.bytes) out.push(b);
  }
  out.push(0xff, 0xd9);
  return new Uint8Array(out);
}
