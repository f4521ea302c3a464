/**
 * Synthetic CT slices as DICOM Part 10 bytes (Explicit VR Little Endian), for benchmarks: a chest-like
 * phantom (air, body, lungs, spine) with noise, stored unsigned 12-in-16-bit with intercept -1024.
 *
 * @module
 */
import { concatBytes } from "../dicom/bytes.ts";

const enc = new TextEncoder();

/** Pads a string value to even length as DICOM requires (UI with NUL, others with space). */
const pad = (s: string, vr: string) => (s.length % 2 === 0 ? s : s + (vr === "UI" ? "\0" : " "));

const element = (group: number, el: number, vr: string, value: Uint8Array): Uint8Array => {
  const long = ["OB", "OW", "OF", "SQ", "UT", "UN"].includes(vr);
  const head = new Uint8Array(long ? 12 : 8);
  const v = new DataView(head.buffer);
  v.setUint16(0, group, true);
  v.setUint16(2, el, true);
  head[4] = vr.charCodeAt(0);
  head[5] = vr.charCodeAt(1);
  if (long) v.setUint32(8, value.length, true);
  else v.setUint16(6, value.length, true);
  const out = new Uint8Array(head.length + value.length);
  out.set(head);
  out.set(value, head.length);
  return out;
};
const str = (g: number, e: number, vr: string, s: string) => element(g, e, vr, enc.encode(pad(s, vr)));
const us = (g: number, e: number, n: number) =>
  element(g, e, "US", new Uint8Array(new Uint16Array([n]).buffer));

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
  const dataset = concatBytes([
    str(0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
    str(0x0008, 0x0018, "UI", sop),
    str(0x0008, 0x0060, "CS", "CT"),
    us(0x0028, 0x0002, 1),
    str(0x0028, 0x0004, "CS", "MONOCHROME2"),
    us(0x0028, 0x0010, rows),
    us(0x0028, 0x0011, cols),
    us(0x0028, 0x0100, 16),
    us(0x0028, 0x0101, 12),
    us(0x0028, 0x0102, 11),
    us(0x0028, 0x0103, 0),
    str(0x0028, 0x1050, "DS", "40"),
    str(0x0028, 0x1051, "DS", "400"),
    str(0x0028, 0x1052, "DS", "-1024"),
    str(0x0028, 0x1053, "DS", "1"),
    element(0x7fe0, 0x0010, "OW", new Uint8Array(px.buffer)),
  ]);
  const metaBody = concatBytes([
    element(0x0002, 0x0001, "OB", new Uint8Array([0, 1])),
    str(0x0002, 0x0002, "UI", "1.2.840.10008.5.1.4.1.1.2"),
    str(0x0002, 0x0003, "UI", sop),
    str(0x0002, 0x0010, "UI", "1.2.840.10008.1.2.1"),
    str(0x0002, 0x0012, "UI", "1.2.826.0.1.3680043.10.1234"),
  ]);
  const groupLength = element(
    0x0002,
    0x0000,
    "UL",
    new Uint8Array(new Uint32Array([metaBody.length]).buffer),
  );
  const preamble = new Uint8Array(132);
  preamble.set(enc.encode("DICM"), 128);
  return concatBytes([preamble, groupLength, metaBody, dataset]);
};
