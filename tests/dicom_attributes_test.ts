/**
 * The native reader of dcmjs's "dict" form (dicom/attributes.ts) against dcmjs itself: for every DICOM file
 * of the fixtures and samples, synthetic headers with every VR in the three uncompressed encodings, and
 * seeded fuzz mutants, the native dict equals `DicomMessage.readFile(...).dict` of the same elements (and the
 * dict whose values are read later equals it once they are read) (deep:
 * value types, ArrayBuffer bytes, property order, proxies and dcmjs's hidden accessors), and `readAttributes`
 * and `readHeader` give the same results (errors included) with the native reader on and off. It also checks
 * that the reader ran where it should and declined where it must.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { types } from "node:util";
import { fingerprint, outcome } from "./support/fingerprint.ts";
import { makeCtSlice } from "../bench/synthetic.ts";
import { data as dcmjsData } from "dcmjs";
import { readDict, readDictLater, settleAll } from "../dicom/attributes.ts";
import {
  type AttributeSource,
  dcmjsDict,
  readAttributes,
  useNativeNaturalizer,
  useNativeReader,
} from "../dicom/dcmjs.ts";
import { naturalizeDict } from "../dicom/naturalize.ts";
import { inflateDataset } from "../dicom/deflated.ts";
import { readHeader } from "../dicom/mod.ts";
import { DEFAULT_LIMITS } from "../dicom/limits.ts";
import { guessSyntax, readPart10 } from "../dicom/part10.ts";
import {
  DEFLATED_LE,
  EXPLICIT_BE,
  EXPLICIT_LE as EXPLICIT_LE_UID,
  IMPLICIT_LE as IMPLICIT_LE_UID,
} from "../dicom/syntaxes.ts";
import { DatasetWalker } from "../dicom/walk.ts";
import { fixtureBases, mutants } from "./fuzz/harness.ts";
import { dicomFiles, root } from "./support/dicom_files.ts";
import { REALISTIC_KINDS, realisticCt } from "./support/realistic_ct.ts";
import { switchedOff } from "./support/switched.ts";
import { concatBytes } from "../dicom/bytes.ts";
import {
  element,
  encapsulatedPixelData,
  type Encoding,
  even,
  EXPLICIT_BE as BE,
  EXPLICIT_LE as LE,
  imagePixelModule,
  IMPLICIT_LE as ILE,
  item,
  latin1,
  marker,
  part10,
  sequence,
  text,
  us,
} from "./support/dicom_writer.ts";

// ---- what is compared ------------------------------------------------------------------------------------

/** The attribute source `parseContainer` hands `readAttributes` (header-only walk); undefined where it throws. */
function sourceOf(bytes: Uint8Array): AttributeSource | undefined {
  try {
    const p = readPart10(bytes);
    const fileSyntax = p.transferSyntaxUid ?? guessSyntax(bytes, p.datasetStart);
    const deflated = fileSyntax === DEFLATED_LE;
    const data = deflated ? inflateDataset(bytes, p.datasetStart, DEFAULT_LIMITS) : bytes;
    const syntax = deflated ? EXPLICIT_LE_UID : fileSyntax;
    const encoding = { little: syntax !== EXPLICIT_BE, explicit: syntax !== IMPLICIT_LE_UID };
    const walker = new DatasetWalker(data, encoding, DEFAULT_LIMITS, true, p.guessedSyntax);
    const walk = walker.walk(deflated ? 0 : p.datasetStart);
    return { bytes: data, syntax, ...encoding, ...walk };
  } catch {
    return undefined;
  }
}

/** Runs `fn` with the native reader off. */
function dcmjsOnly<T>(fn: () => T): T {
  return switchedOff(useNativeReader, fn);
}

/** Runs `fn` with the native naturalizer off (dcmjs naturalizes the native reader's dicts). */
function dcmjsNaturalizing<T>(fn: () => T): T {
  return switchedOff(useNativeNaturalizer, fn);
}

const DicomMetaDictionary = (dcmjsData as unknown as {
  DicomMetaDictionary: { naturalizeDataset(dict: unknown): Record<string, unknown> };
}).DicomMetaDictionary;

/** How often {@link compareNaturalized} saw the native naturalizer run, decline and throw. */
const naturalized = { ran: 0, declined: 0, threw: 0 };

/**
 * What a naturalized data set does when used: its JSON, its values' strings and PN components, one-item
 * arrays indexed and read through, and then properties written through the data set and through its
 * one-item arrays (each followed by its fingerprint and JSON).
 */
function behaviour(ds: Record<string, unknown>): string {
  const out: string[] = [json(ds)];
  const wrapped: string[] = [];
  for (const key of Object.keys(ds)) {
    const v = ds[key] as Record<string, unknown> | null;
    if (typeof v !== "object" || v === null) continue;
    out.push(`${key}: ${attempt(() => String(v))} ${String(v.__isProxy)} ${String(v.length)} ${json(v)}`);
    out.push(`  ${fingerprint(v.Alphabetic)} ${fingerprint(v.Ideographic)} ${fingerprint(v.Phonetic)}`);
    const first = (v as unknown as unknown[])[0];
    if (typeof first === "object" && first !== null && !(first instanceof ArrayBuffer)) {
      for (const k of Reflect.ownKeys(first)) out.push(`  .${String(k)} = ${fingerprint(v[k as string])}`);
      wrapped.push(key);
    }
  }
  for (const key of wrapped) {
    const v = ds[key] as Record<string, unknown> & unknown[];
    v.ProbeValue = "probe";
    v.PatientName = "Item^Name";
    const item = v[0];
    v[0] = item; // through the handler's numeric-index path
    out.push(`${key}: ${fingerprint(v)} ${fingerprint(v[0])} ${String(v.ProbeValue)} ${json(v)}`);
  }
  ds.PatientName = "Doe^John=Ideo^Graphic";
  ds.OperatorsName = ["A^B", "C^D"];
  ds.Modality = "MR";
  out.push(fingerprint(ds.PatientName), json(ds.PatientName), fingerprint(ds.OperatorsName));
  out.push(fingerprint(ds), json(ds));
  return out.join("\n");
}

const attempt = (fn: () => string) => {
  try {
    return fn();
  } catch (e) {
    return `throws ${(e as Error).message}`;
  }
};
const json = (v: unknown) => attempt(() => String(JSON.stringify(v)));

/**
 * The native naturalizer against dcmjs's `naturalizeDataset` on two dicts the native reader read from the
 * same elements: the naturalized data sets, the dicts afterwards (both change them), and how the data sets
 * behave when used, all the same; or both throw the same error, or the native one declines.
 */
function compareNaturalized(name: string, src: AttributeSource): void {
  const spans = src.elements.filter((e) => e.damaged === undefined);
  const mine = readDict(src, spans)!;
  const theirs = readDict(src, spans)!;
  let native: Record<string, unknown> | undefined;
  try {
    const result = naturalizeDict(mine);
    if (result) {
      assert.equal(fingerprint({ ...result.target }), fingerprint({ ...result.dataset }), `${name}: target`);
    }
    native = result?.dataset;
  } catch (e) {
    naturalized.threw++;
    const expected = outcome(() => DicomMetaDictionary.naturalizeDataset(theirs));
    assert.equal(
      `throws ${(e as Error).name}  ${(e as Error).message}`,
      expected,
      `${name}: not the same error`,
    );
    return;
  }
  if (native === undefined) {
    naturalized.declined++;
    return;
  }
  naturalized.ran++;
  const expected = DicomMetaDictionary.naturalizeDataset(theirs);
  assert.equal(fingerprint(native), fingerprint(expected), `${name}: the naturalized data set differs`);
  assert.equal(fingerprint(mine), fingerprint(theirs), `${name}: the dicts differ afterwards`);
  assert.equal(json(native), json(expected), `${name}: JSON differs`);
  assert.equal(behaviour(native), behaviour(expected), `${name}: behaves differently`);
}

/**
 * `readAttributes` without `target` (only the native naturalizer gives one), which must read as the data set
 * reads.
 */
function attributesOf(src: AttributeSource): unknown {
  const { target, ...rest } = readAttributes(src);
  if (target) assert.equal(fingerprint({ ...target }), fingerprint({ ...rest.dataset }), "target");
  return rest;
}

/**
 * Compares the native reader with dcmjs on one file; returns whether the native reader read it (undefined:
 * the walk failed, there is nothing to read).
 */
function compare(name: string, bytes: Uint8Array): boolean | undefined {
  const header = outcome(() => readHeader(bytes));
  assert.equal(header, dcmjsOnly(() => outcome(() => readHeader(bytes))), `${name}: readHeader differs`);
  const src = sourceOf(bytes);
  if (!src) return undefined;
  const spans = src.elements.filter((e) => e.damaged === undefined);
  const dict = readDict(src, spans);
  const later = readDictLater(src, spans);
  assert.equal(later === undefined, dict === undefined, `${name}: readDictLater declines differently`);
  if (dict) {
    assert.equal(fingerprint(dict), fingerprint(dcmjsDict(src)), `${name}: the dict differs from dcmjs's`);
    assert.equal(fingerprint(settleAll(later!)), fingerprint(dict), `${name}: the values read later differ`);
    compareNaturalized(name, src);
  }
  const attributes = outcome(() => attributesOf(src));
  assert.equal(attributes, dcmjsOnly(() => outcome(() => attributesOf(src))), `${name}: attributes differ`);
  assert.equal(
    attributes,
    dcmjsNaturalizing(() => outcome(() => attributesOf(src))),
    `${name}: naturalizers`,
  );
  assert.equal(
    header,
    dcmjsNaturalizing(() => outcome(() => readHeader(bytes))),
    `${name}: readHeader differs with dcmjs naturalizing`,
  );
  return dict !== undefined;
}

// ---- files -------------------------------------------------------------------------------------------------

const read = (path: string) => new Uint8Array(readFileSync(path));

/** The files the native reader declines, and why (everything else under tests/fixtures and samples it reads). */
const DECLINED: Readonly<Record<string, string>> = {};

Deno.test("attributes: every fixture and sample reads the same natively as with dcmjs", () => {
  const ran: string[] = [];
  const declined: string[] = [];
  const unwalkable: string[] = [];
  for (const path of [...dicomFiles(join(root, "tests/fixtures")), ...dicomFiles(join(root, "samples"))]) {
    const name = path.slice(root.length);
    const bytes = read(path);
    const native = compare(name, bytes);
    // the input as a view into a larger buffer, and as a Node Buffer (whose slice() is a view)
    const view = new Uint8Array(bytes.length + 7).subarray(3, bytes.length + 3);
    view.set(bytes);
    compare(`${name} (a view)`, view);
    compare(`${name} (a Node Buffer)`, Buffer.from(bytes));
    (native === undefined ? unwalkable : native ? ran : declined).push(name);
  }
  console.log(
    `      ${ran.length} read natively, ${declined.length} declined, ${unwalkable.length} not walkable; ` +
      `naturalized natively ${naturalized.ran}, declined ${naturalized.declined}, threw ${naturalized.threw}`,
  );
  assert.ok(naturalized.ran >= 3 * ran.length, `${naturalized.ran} naturalized natively`);
  assert.equal(naturalized.declined, 0);
  assert.deepEqual(declined, Object.keys(DECLINED));
  assert.ok(ran.length > 150, `${ran.length} read natively`);
  for (const must of ["samples/ct-study/slice-001.dcm", "tests/fixtures/series/rescale/IM0001.dcm"]) {
    assert.ok(ran.includes(must), must);
  }
});

// ---- synthetic headers -------------------------------------------------------------------------------------

/** `bytes` padded to even length with `pad`. */
const numbers = (kind: "f32" | "f64" | "i32" | "i16" | "u32" | "u64", values: number[], little: boolean) => {
  const size = { f32: 4, f64: 8, i32: 4, i16: 2, u32: 4, u64: 8 }[kind];
  const out = new Uint8Array(size * values.length);
  const v = new DataView(out.buffer);
  values.forEach((n, i) => {
    const p = i * size;
    if (kind === "f32") v.setFloat32(p, n, little);
    else if (kind === "f64") v.setFloat64(p, n, little);
    else if (kind === "i32") v.setInt32(p, n, little);
    else if (kind === "i16") v.setInt16(p, n, little);
    else if (kind === "u32") v.setUint32(p, n, little);
    else v.setBigUint64(p, BigInt(n), little);
  });
  return out;
};

/** A header with every VR dcmjs reads, odd and empty values, PN groups, private tags and nested sequences. */
function everyVr(encoding: Encoding, charset: Uint8Array | undefined, names: Uint8Array): Uint8Array[] {
  const little = encoding.little;
  const e = (tag: number, vr: string, value: Uint8Array) => element(tag, vr, value, { encoding });
  const s = (tag: number, vr: string, value: string) =>
    e(tag, vr, even(latin1(value), vr === "UI" ? 0 : 0x20));
  const at = (tags: number[]) =>
    Uint8Array.from(tags.flatMap((t) => [...us([t >>> 16, t & 0xffff], little)]));
  const inner = (uid: string, undefinedLength: boolean) =>
    item(
      new Uint8Array([
        ...s(0x00081150, "UI", "1.2.840.10008.5.1.4.1.1.2"),
        ...s(0x00081155, "UI", uid),
      ]),
      { encoding, undefinedLength },
    );
  const nested = (tag: number, undefinedLength: boolean) =>
    sequence(tag, [
      item(
        new Uint8Array([
          ...s(0x0008103e, "LO", " nested  "),
          ...sequence(0x00081140, [inner("1.2.3.4\0", undefinedLength), inner("5.6", !undefinedLength)], {
            encoding,
            undefinedLength,
          }),
          ...e(0x00100010, "PN", even(names, 0x20)),
        ]),
        { encoding, undefinedLength },
      ),
      item(new Uint8Array(), { encoding }),
      item(new Uint8Array(), { encoding, undefinedLength: true }),
      item(new Uint8Array([...s(0x00200013, "IS", " 7 ")]), { encoding, undefinedLength }),
    ], { encoding, undefinedLength });
  return [
    ...(charset ? [e(0x00080005, "CS", even(charset, 0x20))] : []),
    s(0x00080008, "CS", "ORIGINAL\\PRIMARY \\ AXIAL "),
    s(0x00080016, "UI", "1.2.840.10008.5.1.4.1.1.2"),
    s(0x00080018, "UI", "1.2.3.4.5.6.7\0"),
    s(0x0008001a, "UI", "1.2.3\\4.5x.6 \\"),
    s(0x00080020, "DA", "20240131"),
    s(0x00080021, "DA", ""),
    s(0x0008002a, "DT", "20240131101010.5 "),
    s(0x00080030, "TM", "101010.123 "),
    s(0x00080050, "SH", "  ACC 1 "),
    s(0x00080054, "AE", " STORE\\ARCHIVE "),
    e(0x00080070, "LO", even(names, 0x20)),
    s(0x00080081, "ST", "Street 1\\Town  \r\n "),
    e(0x00080090, "PN", new Uint8Array()),
    s(0x00080119, "UC", "long code\\value  "),
    s(0x00080120, "UR", "http://example.com/a b "),
    e(0x0008040c, "UV", numbers("u64", [1, 2 ** 40], little)),
    nested(0x00081115, true),
    nested(0x00400275, false),
    sequence(0x00081250, [], { encoding }),
    sequence(0x00082112, [], { encoding, undefinedLength: true }),
    s(0x00090010, "LO", "ACME 1.0"),
    e(0x00091001, "UN", Uint8Array.from([1, 2, 3, 4, 5, 6])),
    e(0x00091002, "OB", Uint8Array.from([9, 8])),
    e(0x00100010, "PN", even(names, 0x20)),
    s(0x00101010, "AS", "042Y"),
    s(0x00181020, "LO", "v1\\v2 \\ v3 "),
    s(0x00180050, "DS", " 1.0 "),
    e(0x00181310, "US", us([0, 512, 512, 0], little)),
    e(0x00181638, "OF", numbers("f32", [1.5, -2], little)),
    e(0x00186020, "SL", numbers("i32", [-5, 7], little)),
    e(0x00189219, "SS", numbers("i16", [-3], little)),
    e(0x00189087, "FD", numbers("f64", [1000.25], little)),
    e(0x00080306, "FL", new Uint8Array()),
    e(0x00189306, "FL", numbers("f32", [0.1, 3], little)),
    e(0x00200011, "IS", new Uint8Array()),
    s(0x00200012, "IS", "+1\\ 12 \\1.0\\\\-0\\99999999999\\1e3\\abc"),
    s(0x00200013, "IS", "  "),
    s(0x00200032, "DS", "+1\\ 1.0 \\1e3\\\\-0\\.5\\abc\\1e999\\-1.5E-2"),
    s(0x00200037, "DS", "1\\0\\0\\0\\1\\0 "),
    s(0x00204000, "LT", "line 1\\line 2  \n"),
    e(0x00280009, "AT", at([0x00181063, 0x00186060])),
    e(0x00281101, "US", new Uint8Array()),
    e(0x00281201, "OW", us([1, 2, 3], little)),
    e(0x0040a160, "UT", even(latin1("text\\with  "), 0x20)),
    e(0x003a032e, "OD", numbers("f64", [2.5], little)),
    // explicit UN of tags dcmjs knows: it re-reads them as the dictionary's VR (little endian, kept whole)
    e(0x00080012, "UN", latin1("20240131")),
    e(0x00080013, "UN", latin1("101010 ")),
    e(0x00081070, "UN", even(latin1("X^Y\\Z=Q"), 0x20)),
    e(0x00081090, "UN", even(latin1(" model\\b "), 0x20)),
    e(0x00180088, "UN", even(latin1(" 2.5\\x"), 0x20)),
    e(0x00181150, "UN", even(latin1("12\\ 3"), 0x20)),
    e(0x00189073, "UN", numbers("f64", [0.25, 4], true)),
    e(0x00200052, "UN", even(latin1("1.2.3\\4"))),
    e(0x00209165, "UN", Uint8Array.from([...us([0x0020, 0x9056], true)])),
    e(0x00280034, "UN", new Uint8Array()),
    e(0x00420011, "UN", Uint8Array.from([7, 7, 7, 7])),
    e(0x00660022, "UN", numbers("f64", [1.5], true)),
    s(0x00080050, "SH", "DUP"), // a repeated tag: dcmjs keeps its first place and its last value
    ...imagePixelModule({ rows: 2, cols: 2, bitsAllocated: 16 }, encoding),
    e(0x7fe00010, "OW", us([1, 2, 3, 4], little)),
  ];
}

/** A Part 10 file of `elements` in `syntax`. */
const file = (syntax: string, elements: Uint8Array[]) => part10(syntax, elements);

const ENCODINGS: ReadonlyArray<[string, Encoding, string]> = [
  ["explicit VR little endian", LE, EXPLICIT_LE_UID],
  ["implicit VR little endian", ILE, IMPLICIT_LE_UID],
  ["explicit VR big endian", BE, EXPLICIT_BE],
];

Deno.test("attributes: synthetic headers with every VR read the same in all three encodings", () => {
  const utf8 = new TextEncoder().encode("Müller^Zoë=山田^太郎 ");
  const charsets: ReadonlyArray<[string, Uint8Array | undefined, Uint8Array]> = [
    ["no character set", undefined, Uint8Array.from([...latin1("Caf"), 0xe9, 0x80, 0x9f, 0x41])],
    ["ISO_IR 100", latin1("ISO_IR 100"), Uint8Array.from([...latin1("M"), 0xfc, ...latin1("ller^J")])],
    ["ISO_IR 192", latin1("ISO_IR 192"), utf8],
    ["ISO_IR 6", latin1("ISO_IR 6"), latin1("Plain^Name")],
    ["empty", new Uint8Array(), latin1("Plain^Name")],
  ];
  for (const [label, encoding, uid] of ENCODINGS) {
    for (const [charsetLabel, charset, names] of charsets) {
      const bytes = file(uid, everyVr(encoding, charset, names));
      assert.equal(compare(`${label}, ${charsetLabel}`, bytes), true, `${label}, ${charsetLabel}: declined`);
    }
  }
  for (const index of [0, 7]) assert.equal(compare(`makeCtSlice ${index}`, makeCtSlice(64, 48, index)), true);
});

Deno.test("attributes: the native reader declines what it does not read the way dcmjs does", () => {
  const le = (tag: number, vr: string, value: Uint8Array) => element(tag, vr, value);
  const base = [
    le(0x00080060, "CS", text("CT")),
    ...imagePixelModule({ rows: 2, cols: 2, bitsAllocated: 16 }),
  ];
  const pixels = le(0x7fe00010, "OW", us([1, 2, 3, 4]));
  const cases: ReadonlyArray<[string, Uint8Array[]]> = [
    ["ISO_IR 144 (Cyrillic)", [le(0x00080005, "CS", text("ISO_IR 144")), le(0x00100010, "PN", latin1("Ab"))]],
    ["two character sets", [le(0x00080005, "CS", text("\\ISO 2022 IR 87"))]],
    ["an unknown character set", [le(0x00080005, "CS", text("ISO_IR 999"))]],
    ["explicit UN for a sequence", [le(0x00081115, "UN", item(le(0x00080060, "CS", text("MR"))))]],
    ["explicit UN for a US-or-SS tag", [le(0x00280106, "UN", us(1))]],
    ["OL", [le(0x00660129, "OL", new Uint8Array(4))]],
    // (the walk finds other binary values of a wrong length damaged; an explicit UN it cannot tell)
    ["an explicit UN of an FD tag, 12 bytes", [le(0x00189087, "UN", new Uint8Array(12))]],
  ];
  for (const [label, extra] of cases) {
    const bytes = file(EXPLICIT_LE_UID, [...extra, ...base, pixels]);
    assert.equal(compare(label, bytes), false, `${label}: not declined`);
  }
  // an undefined-length item whose bytes hold an item delimiter dcmjs's word scan stops at
  const trap = sequence(0x00081115, [
    item(new Uint8Array([...le(0x00091010, "OB", Uint8Array.from([0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0]))]), {
      undefinedLength: true,
    }),
  ], { undefinedLength: true });
  assert.equal(compare("delimiter bytes in an item", file(EXPLICIT_LE_UID, [trap, ...base, pixels])), false);
  // an icon's encapsulated pixels (an opaque value) in an undefined-length item, which dcmjs's word scan crosses
  assert.equal(
    compare("opaque value in an undefined-length item", file(EXPLICIT_LE_UID, [icon(true), ...base, pixels])),
    false,
  );
});

/** An Icon Image Sequence whose one item holds encapsulated pixel data (an opaque value for dcmjs). */
function icon(undefinedLength: boolean): Uint8Array {
  const pixels = encapsulatedPixelData([Uint8Array.from([0xff, 0xd8, 0xff, 0xd9])], { offsets: [0] });
  const module = imagePixelModule({ rows: 1, cols: 1, bitsAllocated: 8 });
  return sequence(0x00880200, [item(concatBytes([...module, pixels]), { undefinedLength })], {
    undefinedLength,
  });
}

Deno.test("attributes: an opaque value in a defined-length item, and a top-level one, read natively", () => {
  const le = (tag: number, vr: string, value: Uint8Array) => element(tag, vr, value);
  const un = element(
    0x00091010,
    "UN",
    concatBytes([
      item(element(0x00091011, "LO", text("x"), { encoding: ILE })),
      marker(0xe0dd, 0),
    ]),
    {
      undefinedLength: true,
    },
  );
  const bytes = file(EXPLICIT_LE_UID, [
    le(0x00090010, "LO", text("ACME")),
    icon(false),
    un,
    ...imagePixelModule({ rows: 2, cols: 2, bitsAllocated: 16 }),
    le(0x7fe00010, "OW", us([1, 2, 3, 4])),
  ]);
  assert.ok(sourceOf(bytes)!.opaque.length === 2);
  assert.equal(compare("opaque values", bytes), true);
});

// ---- fuzz mutants ------------------------------------------------------------------------------------------

Deno.test("attributes: 300 fuzz mutants give the same results (errors included) natively and with dcmjs", () => {
  let ran = 0;
  for (const m of mutants(fixtureBases(), 20260514, 300)) {
    if (compare(`mutant ${m.id} (${m.base}: ${m.label})`, m.bytes)) ran++;
  }
  console.log(
    `      ${ran} of 300 mutants read natively; naturalized natively ${naturalized.ran}, ` +
      `declined ${naturalized.declined}, threw ${naturalized.threw}`,
  );
  assert.ok(ran > 100, `${ran} read natively`);
});

// ---- the native naturalizer --------------------------------------------------------------------------------

Deno.test("attributes: realistic CT headers naturalize natively the same as with dcmjs", () => {
  for (const { explicit, charset, label } of REALISTIC_KINDS) {
    const before = naturalized.ran;
    assert.equal(compare(label, realisticCt(explicit, charset)), true, `${label}: declined`);
    assert.equal(naturalized.ran, before + 1, `${label}: not naturalized natively`);
    const header = readHeader(realisticCt(explicit, charset));
    const ds = header.dataset as Record<string, unknown>;
    assert.ok(Object.keys(ds).length > 100, `${label}: ${Object.keys(ds).length} attributes`);
  }
  // what the realistic header exercises: one-item sequences and values made Proxies, several items, PN
  const src = sourceOf(realisticCt(true, "ISO_IR 100"))!;
  const ds = naturalizeDict(readDict(src, src.elements)!)!.dataset as Record<string, Record<string, unknown>>;
  assert.ok(types.isProxy(ds) && types.isProxy(ds.ProcedureCodeSequence) && types.isProxy(ds.PatientName));
  assert.equal(ds.ProcedureCodeSequence.CodeValue, "CTCHEST");
  assert.equal(
    (ds.ProcedureCodeSequence.EquivalentCodeSequence as Record<string, unknown>).CodeMeaning,
    "nested",
  );
  assert.equal((ds.ReferencedImageSequence as unknown as unknown[]).length, 3);
  assert.equal(ds.PatientName.Alphabetic, "Müller^Jürgen^^Dr.^MD");
  assert.equal((ds.OperatorsName as unknown as unknown[]).length, 3);
  assert.deepEqual(
    { ...ds._vrMap },
    {
      SmallestImagePixelValue: "US",
      LargestImagePixelValue: "US",
      PerformedProtocolCodeSequence: "SH",
      OverlayData: "OW",
    },
  );
  // ISO 2022: the native reader declines, dcmjs reads and naturalizes
  assert.equal(compare("realistic CT, ISO 2022 IR 87", realisticCt(true, "ISO 2022 IR 87")), false);
});

Deno.test("attributes: the native naturalizer follows dcmjs's dictionary and nameMap as they are changed", () => {
  const dcmjs = dcmjsData as unknown as {
    DicomMetaDictionary: {
      dictionary: Record<string, unknown>;
      nameMap: Record<string, unknown>;
    };
  };
  const { dictionary, nameMap } = dcmjs.DicomMetaDictionary;
  const bytes = realisticCt(true, "ISO_IR 100");
  const ran = naturalized.ran;
  try {
    // a private tag named by a custom entry, whose name nameMap says is a PN
    dictionary["(0009,1002)"] = {
      tag: "(0009,1002)",
      vr: "PN",
      vm: "1-n",
      name: "AcmeNames",
      version: "Custom",
    };
    nameMap.AcmeNames = dictionary["(0009,1002)"];
    assert.equal(compare("custom dictionary entry", bytes), true);
    const ds = readHeader(bytes).dataset as Record<string, unknown>;
    assert.equal(JSON.stringify(ds.AcmeNames), `[{"Alphabetic":"private"},{"Alphabetic":"values"}]`);
    // an entry whose name is an Object.prototype property: declined, dcmjs naturalizes
    dictionary["(0009,1002)"] = {
      tag: "(0009,1002)",
      vr: "LO",
      vm: "1-n",
      name: "constructor",
      version: "Custom",
    };
    compare("a name from Object.prototype", bytes);
  } finally {
    delete dictionary["(0009,1002)"];
    delete nameMap.AcmeNames;
  }
  // the entry gone, the tag is unknown again
  assert.equal(compare("custom dictionary entry removed", bytes), true);
  assert.ok("00091002" in (readHeader(bytes).dataset as Record<string, unknown>));
  assert.equal(naturalized.ran, ran + 2);
  assert.equal(naturalized.declined, 1);
  naturalized.declined = 0;
});

Deno.test("attributes: the native naturalizer sees changes to the entries dcmjs's dictionary gives", () => {
  const dictionary = (dcmjsData as unknown as {
    DicomMetaDictionary: { dictionary: Record<string, { name: string }> };
  }).DicomMetaDictionary.dictionary;
  const bytes = realisticCt(true, "ISO_IR 100");
  assert.equal(compare("before", bytes), true); // the entries are looked up (and remembered) once
  const entry = dictionary["(0010,0020)"];
  const name = entry.name;
  try {
    entry.name = "PatientIdentifier";
    assert.equal(compare("an entry renamed", bytes), true);
    const ds = readHeader(bytes).dataset as Record<string, unknown>;
    assert.ok("PatientIdentifier" in ds && !("PatientID" in ds));
  } finally {
    entry.name = name;
  }
  assert.ok("PatientID" in (readHeader(bytes).dataset as Record<string, unknown>));
});

Deno.test("attributes: the native naturalizer declines what it does not reproduce, and throws where dcmjs does", () => {
  const declines: ReadonlyArray<[string, Record<string, unknown>]> = [
    ["InlineBinary", { "00091010": { vr: "OB", InlineBinary: "AQI=" } }],
    ["BulkDataURI", { "00091010": { vr: "OB", BulkDataURI: "http://x" } }],
    ["a value that is not an array", { "00100020": { vr: "LO", Value: "x" } }],
    ["a lower-case key", { "0020000d": { vr: "UI", Value: ["1.2"] } }],
    ["an item that is not an object", { "00081140": { vr: "SQ", Value: [1] } }],
  ];
  for (const [label, dict] of declines) {
    assert.equal(naturalizeDict(dict as never), undefined, label);
    assert.equal(fingerprint(dict), fingerprint(structuredClone(dict)), `${label}: the dict was changed`);
  }
  // a PatientName of numbers: dcmjs throws on it (PN accessors on a number), and so does the native one
  const bytes = file(EXPLICIT_LE_UID, [
    element(0x00080060, "CS", text("CT")),
    element(0x00100010, "US", us(7)),
    element(0x00100020, "LO", text("ID")),
  ]);
  const threw = naturalized.threw;
  assert.equal(compare("a PatientName of numbers", bytes), true);
  assert.equal(naturalized.threw, threw + 1);
  const attributes = readAttributes(sourceOf(bytes)!);
  assert.deepEqual(attributes.unread.map((u) => u.span.tag), [0x00100010]);
  assert.equal(attributes.dataset.PatientID, "ID");
});
