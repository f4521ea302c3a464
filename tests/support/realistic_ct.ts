/**
 * A realistic CT header (about 100 elements) in any uncompressed encoding and character set, made with the
 * test writer: the attributes a scanner writes (names with several components and groups, a multi-valued
 * PN, sequences of one and of several items, a nested sequence), private tags, an empty value of every VR,
 * an `ox` tag (OverlayData), values whose VR differs from the dictionary's, and 32 x 32 pixels.
 *
 * @module
 */
import { concatBytes } from "../../dicom/bytes.ts";
import {
  element,
  type Encoding,
  even,
  EXPLICIT_LE as LE,
  IMPLICIT_LE as ILE,
  item,
  latin1,
  part10,
  sequence,
} from "./dicom_writer.ts";
import { EXPLICIT_LE as EXPLICIT_LE_UID, IMPLICIT_LE as IMPLICIT_LE_UID } from "../../dicom/syntaxes.ts";

/** The character sets of the realistic headers. */
export type RealisticCharset = "ISO_IR 100" | "ISO_IR 192" | "none" | "ISO 2022 IR 87";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The realistic headers the equality tests read: explicit or implicit VR, and a character set dcmflow reads natively. */
export const REALISTIC_KINDS: ReadonlyArray<
  { readonly explicit: boolean; readonly charset: RealisticCharset; readonly label: string }
> = ([[true, "ISO_IR 100"], [false, "ISO_IR 100"], [true, "ISO_IR 192"], [true, "none"], [
  false,
  "none",
]] as const).map(
  ([explicit, charset]) => ({
    explicit,
    charset,
    label: `realistic CT, ${explicit ? "explicit" : "implicit"} VR, ${charset}`,
  }),
);

/** A Part 10 file of the realistic CT header, explicit or implicit VR little endian. */
export function realisticCt(explicit: boolean, charset: RealisticCharset): Uint8Array {
  const encoding = explicit ? LE : ILE;
  const syntax = explicit ? EXPLICIT_LE_UID : IMPLICIT_LE_UID;
  return part10(syntax, realisticElements(encoding, charset));
}

/** The elements of {@link realisticCt}, in tag order. */
export function realisticElements(encoding: Encoding, charset: RealisticCharset): Uint8Array[] {
  const little = encoding.little;
  const enc = charset === "ISO_IR 192" ? utf8 : latin1;
  const e = (tag: number, vr: string, value: Uint8Array) => element(tag, vr, value, { encoding });
  const s = (tag: number, vr: string, value: string) =>
    e(tag, vr, even(vr === "UI" ? latin1(value) : enc(value), vr === "UI" ? 0 : 0x20));
  const bin = (size: 2 | 4 | 8, values: number[], kind: "u" | "i" | "f" = "u") => {
    const out = new Uint8Array(size * values.length);
    const v = new DataView(out.buffer);
    values.forEach((n, i) => {
      if (kind === "f") size === 4 ? v.setFloat32(i * size, n, little) : v.setFloat64(i * size, n, little);
      else if (size === 2) kind === "i" ? v.setInt16(i * 2, n, little) : v.setUint16(i * 2, n, little);
      else if (size === 4) kind === "i" ? v.setInt32(i * 4, n, little) : v.setUint32(i * 4, n, little);
      else v.setBigUint64(i * 8, BigInt(n), little);
    });
    return out;
  };
  const items = (...contents: Uint8Array[][]) => contents.map((c) => item(concatBytes(c), { encoding }));
  const sq = (tag: number, its: Uint8Array[]) => sequence(tag, its, { encoding });
  const names: Record<RealisticCharset, string> = {
    "ISO_IR 100": "Müller^Jürgen^^Dr.^MD",
    "ISO_IR 192": "Ørsted^Hans=オルステッド^ハンス=おるすてっど^はんす",
    "none": "Doe^John^Q^Mr^Jr",
    "ISO 2022 IR 87": "Yamada^Tarou",
  };
  const charsetValue = charset === "ISO 2022 IR 87" ? "\\ISO 2022 IR 87" : charset;
  const ref = (uid: string) => [s(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"), s(0x00081155, "UI", uid)];
  const code = (value: string, meaning: string) => [
    s(0x00080100, "SH", value),
    s(0x00080102, "SH", "99LOCAL"),
    s(0x00080104, "LO", meaning),
  ];
  const elements: Uint8Array[] = [
    ...(charset === "none" ? [] : [s(0x00080005, "CS", charsetValue)]),
    s(0x00080008, "CS", "ORIGINAL\\PRIMARY\\AXIAL"),
    s(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
    s(0x00080018, "UI", "1.2.826.0.1.3680043.8.498.1001"),
    s(0x00080020, "DA", "20260101"),
    s(0x00080021, "DA", "20260101"),
    s(0x00080030, "TM", "101010.123"),
    s(0x00080050, "SH", ""),
    s(0x00080060, "CS", "CT"),
    s(0x00080070, "LO", "ACME"),
    s(0x00080080, "LO", charset === "none" ? "Hospital" : "Hôpital Saint-Éloi"),
    s(0x00080090, "PN", "Smith^Jane^^Dr^"),
    s(0x00081010, "SH", "CT01"),
    s(0x00081030, "LO", "Thorax ^ contrast"),
    sq(
      0x00081032,
      items([
        ...code("CTCHEST", "CT Thorax"),
        s(0x0008010b, "CS", "N"),
        sq(0x00080121, items(code("X", "nested"))),
      ]),
    ),
    s(0x0008103e, "LO", "Lung 1.0 B70f"),
    s(0x00081048, "PN", ""),
    s(0x00081070, "PN", `Op^One\\${names[charset]}\\Op^Two`),
    s(0x00081090, "LO", "Model X"),
    sq(0x00081140, items(ref("1.2.3.4.1"), ref("1.2.3.4.2"), ref("1.2.3.4.3"))),
    sq(0x00082112, items(ref("1.2.3.4.9"))),
    s(0x00090010, "LO", "ACME 1.0"),
    e(0x00091001, "OB", Uint8Array.from([1, 2, 3, 4])),
    s(0x00091002, "LO", "private\\values"),
    s(0x00100010, "PN", names[charset]),
    s(0x00100020, "LO", "ID 0042"),
    s(0x00100030, "DA", "19700101"),
    s(0x00100040, "CS", "M"),
    s(0x00101010, "AS", "056Y"),
    s(0x00101030, "DS", "80.5"),
    s(0x00180010, "LO", "IOMERON"),
    s(0x00180015, "CS", "CHEST"),
    s(0x00180050, "DS", "1.0"),
    s(0x00180060, "DS", "120"),
    s(0x00180088, "DS", ""),
    s(0x00180090, "DS", "500.0"),
    s(0x00181020, "LO", "VA48A\\syngo CT"),
    s(0x00181100, "DS", "350.0"),
    s(0x00181120, "DS", "0.0"),
    s(0x00181130, "DS", "150.5"),
    s(0x00181140, "CS", "CW"),
    s(0x00181150, "IS", "500"),
    s(0x00181151, "IS", "200"),
    s(0x00181152, "IS", "100"),
    s(0x00181160, "SH", "FLAT"),
    s(0x00181210, "SH", "B70f\\sharp"),
    s(0x00185100, "CS", "HFS"),
    s(0x00190010, "LO", "SIEMENS CT VA0  COAD"),
    s(0x00191090, "DS", "1.5\\2.5"),
    s(0x0019109d, "DT", "20260101101010.000000"),
    s(0x0020000d, "UI", "1.2.826.0.1.3680043.8.498.2001"),
    s(0x0020000e, "UI", "1.2.826.0.1.3680043.8.498.3001"),
    s(0x00200010, "SH", "1"),
    s(0x00200011, "IS", "3"),
    s(0x00200012, "IS", "2"),
    s(0x00200013, "IS", "17"),
    s(0x00200020, "CS", ""),
    s(0x00200032, "DS", "-175.5\\-175.5\\-123.25"),
    s(0x00200037, "DS", "1\\0\\0\\0\\1\\0"),
    s(0x00200052, "UI", "1.2.826.0.1.3680043.8.498.4001"),
    s(0x00201040, "LO", ""),
    s(0x00201041, "DS", "-123.25"),
    e(0x00280002, "US", bin(2, [1])),
    s(0x00280004, "CS", "MONOCHROME2"),
    e(0x00280010, "US", bin(2, [32])),
    e(0x00280011, "US", bin(2, [32])),
    s(0x00280030, "DS", "0.68359375\\0.68359375"),
    s(0x00280034, "IS", ""),
    e(0x00280100, "US", bin(2, [16])),
    e(0x00280101, "US", bin(2, [12])),
    e(0x00280102, "US", bin(2, [11])),
    e(0x00280103, "US", bin(2, [0])),
    e(0x00280106, "US", bin(2, [0])), // xs in the dictionary
    e(0x00280107, "US", bin(2, [4095])),
    s(0x00281050, "DS", "40\\-600"),
    s(0x00281051, "DS", "400\\1500"),
    s(0x00281052, "DS", "-1024"),
    s(0x00281053, "DS", "1"),
    s(0x00281054, "LO", "HU"),
    s(0x00281055, "LO", "WINDOW1\\WINDOW2"),
    s(0x00291010, "OB", "\x01\x02\x03\x04"),
    e(0x00291011, "UN", latin1("abcd")),
    ...emptyOfEveryVr(e),
    s(0x00321060, "LO", "CT THORAX"), // LO
    s(0x00400244, "DA", "20260101"),
    s(0x00400254, "LO", "Thorax"),
    ...(encoding.explicit ? [s(0x00400260, "SH", "wrong VR")] : []), // an SQ in the dictionary
    e(0x60000010, "US", bin(2, [32])),
    e(0x60000011, "US", bin(2, [32])),
    s(0x60000040, "CS", "G"),
    e(0x60000050, "SS", bin(2, [1, 1], "i")),
    e(0x60000100, "US", bin(2, [1])),
    e(0x60000102, "US", bin(2, [0])),
    e(0x60003000, "OW", bin(2, new Array(64).fill(0xaaaa))), // ox in the dictionary
    e(0x7fe00010, "OW", bin(2, Array.from({ length: 32 * 32 }, (_, i) => i % 4096))),
  ];
  return elements;
}

/** A private block (0031,10xx) with an empty value of every VR, and an empty standard PN, UI, AT. */
function emptyOfEveryVr(e: (tag: number, vr: string, value: Uint8Array) => Uint8Array): Uint8Array[] {
  const vrs = [
    "AE",
    "AS",
    "AT",
    "CS",
    "DA",
    "DS",
    "DT",
    "FD",
    "FL",
    "IS",
    "LO",
    "LT",
    "OB",
    "OD",
    "OF",
    "OW",
    "PN",
    "SH",
    "SL",
    "SQ",
    "SS",
    "ST",
    "TM",
    "UC",
    "UI",
    "UL",
    "UN",
    "UR",
    "US",
    "UT",
    "UV",
  ];
  return [
    e(0x00310010, "LO", latin1("EMPTY VALUES")),
    ...vrs.map((vr, i) => e(0x00311001 + i, vr, new Uint8Array())),
  ];
}
