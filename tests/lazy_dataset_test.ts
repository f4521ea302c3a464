/**
 * `ImageMeta.dataset` named when first read (dicom/lazy_dataset.ts, dicom/dcmjs.ts's `readHeaderAttributes`)
 * against naming it when the file is read: for every DICOM file of the fixtures and samples, the realistic CT
 * headers and seeded fuzz mutants, `readHeader`, `readRawPixels` and `decodeDicom` give the same metadata (the
 * data set included, deep: types, order, proxies, hidden accessors), warnings and errors both ways. Also: the
 * late path runs where it should, the data set (whose values are read late too: dicom/attributes.ts's
 * `readDictLater`) does not change when the input buffer is reused or dcmjs's
 * dictionary changes before it is read, and copies of a meta share its data set.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { data as dcmjsData } from "dcmjs";
import { makeCtSlice } from "../bench/synthetic.ts";
import { parseContainer } from "../dicom/container.ts";
import { useLateNaming } from "../dicom/dcmjs.ts";
import { READ_KEYWORDS } from "../dicom/keywords.ts";
import { metaWith } from "../dicom/lazy_dataset.ts";
import { decodeDicom, type ImageMeta, readHeader, readRawPixels, sliceHeader } from "../dicom/mod.ts";
import { fixtureBases, mutants } from "./fuzz/harness.ts";
import { fingerprint, outcome } from "./support/fingerprint.ts";
import { dicomFiles, root } from "./support/dicom_files.ts";
import { REALISTIC_KINDS, realisticCt } from "./support/realistic_ct.ts";
import { switchedOff } from "./support/switched.ts";
import { element, part10, text, us } from "./support/dicom_writer.ts";
import { EXPLICIT_LE } from "../dicom/syntaxes.ts";

/** Runs `fn` with the whole data set named when the file is read. */
function namedAtOnce<T>(fn: () => T): T {
  return switchedOff(useLateNaming, fn);
}

/**
 * What the three readers (and a series scan's `sliceHeader`) give for `bytes`, each meta's data set read last
 * (after its other fields).
 */
function readings(bytes: Uint8Array): string[] {
  return [
    outcome(() => readHeader(bytes)),
    outcome(() => sliceHeader(readHeader(bytes))),
    outcome(() => readRawPixels(bytes)?.meta),
    outcome(() => {
      const decoded = decodeDicom(bytes);
      return { meta: decoded.meta, shape: decoded.shape, data: decoded.data };
    }),
  ];
}

/** The two ways give the same; returns whether the late path named fewer attributes at first. */
function compare(name: string, bytes: Uint8Array): boolean {
  assert.deepEqual(readings(bytes), namedAtOnce(() => readings(bytes)), `${name}: the readings differ`);
  let container;
  try {
    container = parseContainer(bytes, true);
  } catch {
    return false;
  }
  const named = Object.keys(container.dataset).length;
  return named < Object.keys(container.whole().dataset).length;
}

Deno.test("lazy dataset: every fixture and sample reads the same with the data set named late", () => {
  let late = 0;
  const files = [...dicomFiles(join(root, "tests/fixtures")), ...dicomFiles(join(root, "samples"))];
  for (const path of files) {
    const bytes = new Uint8Array(readFileSync(path));
    if (compare(path.slice(root.length), bytes)) late++;
    // a Node Buffer, whose slice() is a view: the header's bytes kept for later must be a copy
    compare(`${path.slice(root.length)} (a Node Buffer)`, Buffer.from(bytes));
  }
  console.log(`      ${late} of ${files.length} files named late`);
  assert.ok(late > 100, `${late} named late`);
});

Deno.test("lazy dataset: realistic CT headers and the scanner-like bench slice read the same", () => {
  for (const { explicit, charset, label } of REALISTIC_KINDS) {
    assert.equal(compare(label, realisticCt(explicit, charset)), true, `${label}: not named late`);
  }
  // ISO 2022: dcmjs reads and names it, at once
  assert.equal(compare("realistic CT, ISO 2022 IR 87", realisticCt(true, "ISO 2022 IR 87")), false);
  assert.equal(compare("scanner slice", makeCtSlice(64, 64, 3, "scanner")), true);
  assert.equal(compare("minimal slice", makeCtSlice(64, 64, 3)), false);
});

Deno.test("lazy dataset: 300 fuzz mutants read the same (errors and warnings included)", () => {
  let late = 0;
  for (const m of mutants(fixtureBases(), 20260514, 300)) {
    if (compare(`mutant ${m.id} (${m.base}: ${m.label})`, m.bytes)) late++;
  }
  console.log(`      ${late} of 300 mutants named late`);
  assert.ok(late > 50, `${late} named late`);
});

Deno.test("lazy dataset: only the attributes dcmflow reads are named when the file is read", () => {
  const container = parseContainer(realisticCt(true, "ISO_IR 100"), true);
  const named = Object.keys(container.dataset).filter((k) => k !== "_vrMap");
  // a series scan reads the functional groups from what was named
  const meta = readHeader(realisticCt(true, "ISO_IR 100"));
  sliceHeader(meta);
  assert.ok(Object.getOwnPropertyDescriptor(meta, "dataset")?.get, "sliceHeader named the whole data set");
  assert.ok(named.length > 10 && named.every((k) => READ_KEYWORDS.has(k)), named.join(", "));
  const whole = container.whole().dataset;
  for (const k of named) assert.equal(fingerprint(container.dataset[k]), fingerprint(whole[k]), k);
  assert.equal(container.whole(), container.whole(), "made once");
});

Deno.test("lazy dataset: a PN named element dcmjs cannot name is reported when the file is read", () => {
  const bytes = part10(EXPLICIT_LE, [
    element(0x00080060, "CS", text("CT")),
    element(0x00100010, "US", us(7)),
    element(0x00100020, "LO", text("ID")),
  ]);
  compare("a PatientName of numbers", bytes);
  assert.equal(parseContainer(bytes, true).warnings.length, 1);
});

Deno.test("lazy dataset: reusing the input buffer or changing dcmjs's dictionary before the read changes nothing", () => {
  const bytes = realisticCt(true, "ISO_IR 100");
  const expected = fingerprint(namedAtOnce(() => readHeader(bytes)).dataset);
  const buffer = bytes.slice();
  const meta = readHeader(buffer);
  buffer.fill(0x41);
  const dictionary = (dcmjsData as unknown as {
    DicomMetaDictionary: { dictionary: Record<string, unknown> };
  }).DicomMetaDictionary.dictionary;
  dictionary["(0010,0020)"] = { tag: "(0010,0020)", vr: "LO", vm: "1", name: "Renamed", version: "Custom" };
  try {
    assert.equal(fingerprint(meta.dataset), expected);
  } finally {
    delete dictionary["(0010,0020)"];
  }
});

Deno.test("lazy dataset: copies keep the order, share the data set, and read like plain objects", () => {
  const bytes = makeCtSlice(32, 32, 1, "scanner");
  const eager = namedAtOnce(() => readHeader(bytes));
  const meta = readHeader(bytes);
  const copy = metaWith(meta, { codec: "other", rows: 7 } as Partial<ImageMeta>);
  assert.deepEqual(Object.keys(copy), Object.keys({ ...eager, codec: "other", rows: 7 }));
  assert.equal(Object.getOwnPropertyDescriptor(meta, "dataset")?.get !== undefined, true, "not read yet");
  // structured cloning (which its proxies fail), JSON and spreading read it as a plain object is read
  assert.equal(
    outcome(() => structuredClone(copy)),
    outcome(() => structuredClone({ ...eager, codec: "other", rows: 7 })),
  );
  assert.equal(JSON.stringify(meta), JSON.stringify(eager));
  assert.equal(copy.dataset, meta.dataset, "one data set for the meta and its copy");
  assert.deepEqual(Object.getOwnPropertyDescriptor(meta, "dataset"), {
    value: meta.dataset,
    writable: true,
    enumerable: true,
    configurable: true,
  });
  assert.equal(fingerprint({ ...meta }), fingerprint({ ...eager }));
  // assigned before it is read, and read from a frozen meta
  const assigned = readHeader(bytes) as { dataset: unknown };
  assigned.dataset = { mine: 1 };
  assert.deepEqual(assigned.dataset, { mine: 1 });
  const frozen = Object.freeze(readHeader(bytes));
  assert.equal(fingerprint(frozen.dataset), fingerprint(eager.dataset));
  assert.equal(frozen.dataset, frozen.dataset);
});
