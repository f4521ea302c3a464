/**
 * Synthetic CT slices as DICOM Part 10 bytes (Explicit VR Little Endian), for benchmarks: a chest-like
 * phantom (air, body, lungs, spine) with noise, stored unsigned 12-in-16-bit with intercept -1024.
 *
 * @module
 */
import { element, imagePixelModule, part10, text } from "../tests/support/dicom_writer.ts";

const str = (tag: number, vr: string, s: string) => element(tag, vr, text(s, vr));

/** A deterministic pseudo-random generator (mulberry32). */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** One synthetic CT slice `rows` x `cols` as a DICOM file. */
export const makeCtSlice = (rows: number, cols: number, index: number): Uint8Array => {
  const rand = rng(index + 1);
  const px = new Uint16Array(rows * cols);
  for (let y = 0; y < rows; y++) {
    for (let x = 0; x < cols; x++) {
      const u = (x - cols / 2) / (cols * 0.42);
      const v = (y - rows / 2) / (rows * 0.32);
      let hu = -1000;
      if (u * u + v * v < 1) hu = 40;
      for (const side of [-1, 1]) {
        const lu = (x - cols / 2 - side * cols * 0.18) / (cols * 0.13);
        const lv = (y - rows / 2) / (rows * 0.22);
        if (lu * lu + lv * lv < 1) hu = -800;
      }
      const su = (x - cols / 2) / (cols * 0.05);
      const sv = (y - rows * 0.72) / (rows * 0.05);
      if (su * su + sv * sv < 1) hu = 700;
      hu += (rand() - 0.5) * 40;
      px[y * cols + x] = Math.max(0, Math.min(4095, Math.round(hu + 1024)));
    }
  }
  const sop = `1.2.826.0.1.3680043.10.1234.${index + 1}`;
  return part10(
    "1.2.840.10008.1.2.1",
    [
      str(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
      str(0x00080018, "UI", sop),
      str(0x00080060, "CS", "CT"),
      ...imagePixelModule({ rows, cols, bitsAllocated: 16, bitsStored: 12 }),
      str(0x00281050, "DS", "40"),
      str(0x00281051, "DS", "400"),
      str(0x00281052, "DS", "-1024"),
      str(0x00281053, "DS", "1"),
      element(0x7fe00010, "OW", new Uint8Array(px.buffer)),
    ],
    [
      str(0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.2"),
      str(0x00020003, "UI", sop),
      str(0x00020012, "UI", "1.2.826.0.1.3680043.10.1234"),
    ],
  );
};
