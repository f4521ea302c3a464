/**
 * `realworld`: stored values to physical quantities through the file's Real World Value Mapping (PS3.3
 * C.7.6.16.2.11) - an ADC map in mm²/s, T1 or T2 in ms, PET in Bq/ml or SUV - where the Modality LUT gives
 * none (MR) or another quantity. It reads stored values, as the mapping does (not the output of `rescale`).
 *
 * A file may hold several mappings (other units, other ranges): `which` picks one by position, `units` by its
 * units code (UCUM CodeValue, e.g. `mm2/s`). Linear mappings are elementwise (fused on the CPU and the GPU);
 * a mapping given as a table runs on the CPU. Values outside the mapping's range of stored values get the same
 * line (linear) or the nearest entry (table); the notes give the range. An enhanced object whose frames have
 * their own mappings gets each frame's.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import {
  CpuFallback,
  defineStage,
  frameMeta,
  type Image,
  type ImageMeta,
  mapFrames,
  type RealWorldMapping,
  StageError,
  wgslFile,
  withData,
} from "../../plugin.ts";

const Params = Schema.Struct({
  which: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "which mapping item (0-based, default 0; with units: among those in these units)",
    }),
  ),
  units: Schema.optionalKey(
    Schema.NonEmptyString.annotate({
      description:
        "the mapping in these units (MeasurementUnitsCodeSequence CodeValue, UCUM: mm2/s, ms, Bq/ml)",
    }),
  ),
});

/** Parameters of the `realworld` stage. */
export type RealWorldParams = typeof Params.Type;

/** One image's (or frame's) chosen mapping. */
interface Chosen {
  readonly index: number;
  readonly mapping: RealWorldMapping;
}

const describeUnits = (list: ReadonlyArray<RealWorldMapping>) =>
  list.map((m, i) => `[${i}] ${m.units ?? "no units"}${m.label ? ` (${m.label})` : ""}`).join(", ");

/** The mapping `p` picks among the image's, or the stage error saying why none. */
export const chooseMapping = (p: RealWorldParams, meta: ImageMeta): Effect.Effect<Chosen, StageError> =>
  Effect.suspend(() => {
    const list = meta.realWorld ?? [];
    if (list.length === 0) {
      return Effect.fail(
        new StageError({
          code: "NO_REAL_WORLD_VALUES",
          message:
            "the file has no Real World Value Mapping Sequence (0040,9096), at the top level or in its " +
            "functional groups: it does not say which physical quantity its values are. Use `rescale` for " +
            "the Modality LUT (CT in HU, PET in Bq/ml).",
        }),
      );
    }
    const candidates = list.flatMap((mapping, index) =>
      p.units === undefined || mapping.units === p.units ? [{ index, mapping }] : []
    );
    const which = p.which ?? 0;
    const chosen = candidates[which];
    if (chosen) return Effect.succeed(chosen);
    const asked = p.units !== undefined && candidates.length === 0
      ? `units: ${p.units} asks for a Real World Value Mapping in ${p.units}, but the file has none in it`
      : `which: ${which} asks for Real World Value Mapping #${which}` +
        `${p.units === undefined ? "" : ` in ${p.units}`}, but the file has ${candidates.length}`;
    return Effect.fail(
      new StageError({
        code: "REAL_WORLD_CHOICE",
        message: `${asked}; its mappings: ${describeUnits(list)}. Set \`which\` or \`units\` to one of them.`,
      }),
    );
  });

const mappingNotes = ({ index, mapping: m }: Chosen) => ({
  index,
  ...(m.units ? { units: m.units } : {}),
  ...(m.label ? { label: m.label } : {}),
  ...(m.lut ? { lut: true } : { slope: m.slope, intercept: m.intercept }),
  range: [m.firstMapped, m.lastMapped],
});

/** Each frame's chosen mapping, when the image's frames have their own (errors name the frame). */
const chooseEach = (p: RealWorldParams, image: Omit<Image, "data">) => {
  const frames = image.meta.frameRealWorld;
  if (!frames || frames.length !== image.shape[0]) return undefined;
  return Effect.forEach(frames, (_, f) =>
    chooseMapping(p, frameMeta(image.meta, f)).pipe(
      Effect.mapError((e) =>
        new StageError({ code: e.code, message: `frame ${f + 1} of ${frames.length}: ${e.message}` })
      ),
    ));
};

const frameNotes = (chosen: ReadonlyArray<Chosen>) => ({
  realWorld: {
    perFrame: true,
    units: chosen[0].mapping.units,
    slope: chosen.map((c) => c.mapping.slope ?? null),
    intercept: chosen.map((c) => c.mapping.intercept ?? null),
  },
});

/** The mapping as a function of the stored value (a line, or the table's nearest entry). */
const mappingFunction = (m: RealWorldMapping): (x: number) => number => {
  const lut = m.lut;
  if (!lut) {
    const slope = m.slope!;
    const intercept = m.intercept!;
    return (x) => slope * x + intercept;
  }
  const last = lut.length - 1;
  return (x) => lut[Math.min(last, Math.max(0, Math.round(x) - m.firstMapped))];
};

/** Each frame through its own mapping (one for all when `chosen` has one). */
const applyAll = (image: Image, chosen: ReadonlyArray<Chosen>): Float32Array => {
  const fns = chosen.map((c) => mappingFunction(c.mapping));
  return mapFrames(image.data, image.shape, image.shape[1], (f) => fns[fns.length === 1 ? 0 : f]);
};

/** The `realworld` stage. */
export const realworld = defineStage({
  name: "realworld",
  description: "Real World Value Mapping: stored values -> physical quantities (ADC mm2/s, T1 ms, ...)",
  params: Params,
  examples: [{}, { units: "mm2/s" }],
  accepts: ["stored"],
  produces: "modality",
  run: (image, p) => {
    const each = chooseEach(p, image);
    if (each) {
      return Effect.map(
        each,
        (chosen) => withData(image, applyAll(image, chosen), { kind: "modality", notes: frameNotes(chosen) }),
      );
    }
    return Effect.map(chooseMapping(p, image.meta), (chosen) =>
      withData(image, applyAll(image, [chosen]), {
        kind: "modality",
        notes: { realWorld: mappingNotes(chosen) },
      }));
  },
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/realworld.wgsl"),
    entry: "realWorld",
    fields: ["slope", "intercept"],
    affine: true,
    values: (p, image) => {
      const each = chooseEach(p, image);
      if (each) {
        return Effect.flatMap(
          each,
          (chosen) =>
            chosen.some((c) => c.mapping.lut)
              ? Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message: "Real World Value LUT Data" }))
              : Effect.succeed({ values: {}, perFrame: true, notes: frameNotes(chosen) }),
        );
      }
      return Effect.flatMap(
        chooseMapping(p, image.meta),
        (chosen) =>
          chosen.mapping.lut
            ? Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message: "Real World Value LUT Data" }))
            : Effect.succeed({
              values: { slope: chosen.mapping.slope!, intercept: chosen.mapping.intercept! },
              notes: { realWorld: mappingNotes(chosen) },
            }),
      );
    },
    cpu: ({ slope, intercept }) => (x) => slope * x + intercept,
  },
});
