/**
 * Synthetic CT slices as DICOM Part 10 bytes (Explicit VR Little Endian), for benchmarks: a chest-like
 * phantom (air, body, lungs, spine) with noise, stored unsigned 12-in-16-bit with intercept -1024. The header
 * holds the image attributes only (16 elements), or, with `header: "scanner"`, also what a CT scanner writes
 * beside them (~100 elements: patient, study, series, equipment, acquisition and position attributes, person
 * names, two sequences, private tags, Latin-1 text), as real series have.
 *
 * @module
 */
import { concatBytes } from "../dicom/bytes.ts";
import {
  element,
  even,
  imagePixelModule,
  item,
  latin1,
  part10,
  sequence,
  text,
} from "../tests/support/dicom_writer.ts";

const str = (tag: number, vr: string, s: string) => element(tag, vr, text(s, vr));

/** A deterministic pseudo-random generator (mulberry32). */
const rng = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

/** What a synthetic slice's header holds: the image attributes only, or also a scanner's. */
export type SliceHeader = "minimal" | "scanner";

/** One synthetic CT slice `rows` x `cols` as a DICOM file. */
export const makeCtSlice = (
  rows: number,
  cols: number,
  index: number,
  header: SliceHeader = "minimal",
): Uint8Array => {
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
    byTag([
      str(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
      str(0x00080018, "UI", sop),
      str(0x00080060, "CS", "CT"),
      ...imagePixelModule({ rows, cols, bitsAllocated: 16, bitsStored: 12 }),
      str(0x00281050, "DS", "40"),
      str(0x00281051, "DS", "400"),
      str(0x00281052, "DS", "-1024"),
      str(0x00281053, "DS", "1"),
      ...(header === "scanner" ? scannerAttributes(index) : []),
      element(0x7fe00010, "OW", new Uint8Array(px.buffer)),
    ]),
    [
      str(0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.2"),
      str(0x00020003, "UI", sop),
      str(0x00020012, "UI", "1.2.826.0.1.3680043.10.1234"),
    ],
  );
};

/** Explicit VR little endian elements in ascending tag order (as a data set must be). */
const byTag = (elements: Uint8Array[]): Uint8Array[] => {
  const tagOf = (e: Uint8Array) => (((e[0] | (e[1] << 8)) << 16) | (e[2] | (e[3] << 8))) >>> 0;
  return elements.sort((a, b) => tagOf(a) - tagOf(b));
};

/** Latin-1 text padded to even length with a space (names and descriptions with accents). */
const latin1Text = (tag: number, vr: string, s: string) => element(tag, vr, even(latin1(s), 0x20));

/**
 * What a CT scanner writes beside the image attributes (about 90 elements), for slice `index` of one series:
 * identical across the series but for the instance number, position and times.
 */
const scannerAttributes = (index: number): Uint8Array[] => {
  const uid = (n: number) => `1.2.826.0.1.3680043.10.1234.9.${n}`;
  const z = (-200 + index * 0.625).toFixed(3);
  const reference = item(
    concatBytes([
      str(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
      str(0x00081155, "UI", uid(1000 + index)),
    ]),
  );
  const procedure = item(
    concatBytes([
      str(0x00080100, "SH", "CTCHEST"),
      str(0x00080102, "SH", "L"),
      str(0x00080104, "LO", "CT Thorax mit KM"),
    ]),
  );
  return [
    str(0x00080005, "CS", "ISO_IR 100"),
    str(0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"),
    str(0x00080012, "DA", "20261203"),
    str(0x00080013, "TM", "101010.123"),
    str(0x00080020, "DA", "20261203"),
    str(0x00080021, "DA", "20261203"),
    str(0x00080022, "DA", "20261203"),
    str(0x00080023, "DA", "20261203"),
    str(0x00080030, "TM", "100501"),
    str(0x00080031, "TM", "100712.500"),
    str(0x00080032, "TM", `1008${String(10 + (index % 50)).padStart(2, "0")}.250`),
    str(0x00080033, "TM", "101010.123"),
    str(0x00080050, "SH", "ACC20261203"),
    str(0x00080070, "LO", "ACME Medical"),
    latin1Text(0x00080080, "LO", "Hôpital Saint-Éloi"),
    latin1Text(0x00080090, "PN", "Müller^Anna^^Dr.^"),
    str(0x00081010, "SH", "CT01"),
    str(0x00081030, "LO", "Thorax^01_ThoraxRoutine (Adult)"),
    sequence(0x00081032, [procedure]),
    str(0x0008103e, "LO", "Thorax 1.0 Br59 3"),
    str(0x00081040, "LO", "Radiologie"),
    latin1Text(0x00081070, "PN", "Schmidt^Jürgen\\Weber^Petra"),
    str(0x00081090, "LO", "Scanner X 128"),
    sequence(0x00081140, [reference]),
    latin1Text(0x00100010, "PN", "Doe^Jöhn^Q"),
    str(0x00100020, "LO", "PID-000042"),
    str(0x00100030, "DA", "19700101"),
    str(0x00100040, "CS", "M"),
    str(0x00101010, "AS", "056Y"),
    str(0x00101020, "DS", "1.80"),
    str(0x00101030, "DS", "80.5"),
    str(0x00180010, "LO", "IOMERON 400"),
    str(0x00180015, "CS", "CHEST"),
    str(0x00180050, "DS", "0.625"),
    str(0x00180060, "DS", "120"),
    str(0x00180088, "DS", "0.625"),
    str(0x00180090, "DS", "500"),
    str(0x00181000, "LO", "12345"),
    str(0x00181020, "LO", "VA48A\\syngo CT VA48A"),
    str(0x00181030, "LO", "ThoraxRoutine"),
    str(0x00181100, "DS", "350"),
    str(0x00181110, "DS", "1085.6"),
    str(0x00181111, "DS", "595"),
    str(0x00181120, "DS", "0"),
    str(0x00181130, "DS", "152.5"),
    str(0x00181140, "CS", "CW"),
    str(0x00181150, "IS", "500"),
    str(0x00181151, "IS", "213"),
    str(0x00181152, "IS", "106"),
    str(0x00181160, "SH", "FLAT"),
    str(0x00181170, "IS", "26"),
    str(0x00181190, "DS", "1.2"),
    str(0x00181210, "SH", "Br59f\\3"),
    str(0x00185100, "CS", "HFS"),
    str(0x0020000d, "UI", uid(1)),
    str(0x0020000e, "UI", uid(2)),
    str(0x00200010, "SH", "1"),
    str(0x00200011, "IS", "3"),
    str(0x00200012, "IS", "2"),
    str(0x00200013, "IS", String(index + 1)),
    str(0x00200032, "DS", `-175.5\\-175.5\\${z}`),
    str(0x00200037, "DS", "1\\0\\0\\0\\1\\0"),
    str(0x00200052, "UI", uid(3)),
    str(0x00201040, "LO", ""),
    str(0x00201041, "DS", z),
    str(0x00280030, "DS", "0.68359375\\0.68359375"),
    str(0x00281054, "LO", "HU"),
    str(0x00281055, "LO", "WINDOW1"),
    str(0x00290010, "LO", "SIEMENS CSA HEADER"),
    element(0x00291008, "CS", text("IMAGE NUM 4", "CS")),
    element(0x00291010, "OB", new Uint8Array(256).map((_, i) => i)),
    str(0x00321060, "LO", "CT Thorax mit KM"),
    str(0x00400244, "DA", "20261203"),
    str(0x00400245, "TM", "100501.000"),
    str(0x00400253, "SH", "PPS0042"),
    str(0x00400254, "LO", "CT Thorax"),
  ];
};
