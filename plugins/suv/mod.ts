/**
 * `suv`: PET activity concentration (Bq/ml, after `rescale`) to standardized uptake value, body weight
 * (SUVbw, g/ml), as the QIBA vendor-neutral pseudo-code computes it from the header (dicom/pet.ts): the
 * patient's weight over the injected dose decayed to the scan start. One factor per image, so it is
 * elementwise: fused with `rescale` into the CPU path's lookup table and into one GPU kernel.
 *
 * A file whose SUV cannot be computed without a guess (counts, no decay correction, a missing weight or dose,
 * a series time after the acquisition) is that input's coded error, naming the attribute.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import { type SuvBody, type SuvFactor, suvFactor } from "../../dicom/mod.ts";
import { defineStage, type Image, StageError, wgslFile } from "../../plugin.ts";

const Params = Schema.Struct({
  body: Schema.optionalKey(
    Schema.Literals(["weight", "lean", "bsa"]).annotate({
      description: "normalised by body weight (SUVbw, default), lean body mass (SUL, Janmahasatian) or " +
        "body surface area (SUVbsa, Du Bois); lean and bsa need PatientSize, lean PatientSex",
    }),
  ),
});

/** Parameters of the `suv` stage (everything else comes from the file). */
export type SuvParams = typeof Params.Type;

/** What the notes record: the factor and the header facts it comes from. */
const suvNotes = (f: SuvFactor) => ({ suv: { ...f } });

/** The image's SUVbw factor, or its coded error. */
export const resolveSuv = (
  image: Omit<Image, "data">,
  body: SuvBody = "weight",
): Effect.Effect<SuvFactor, StageError> =>
  Effect.suspend(() => {
    const r = suvFactor(image.meta.dataset, body);
    return r.ok
      ? Effect.succeed(r.factor)
      : Effect.fail(new StageError({ code: r.code, message: r.message }));
  });

/** The `suv` stage. */
export const suv = defineStage({
  name: "suv",
  description:
    "PET: activity concentration (Bq/ml, after rescale) -> SUV (body weight by default, or lean body mass / body surface)",
  params: Params,
  examples: [{}, { body: "lean" }],
  accepts: ["modality"],
  produces: "modality",
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/suv.wgsl"),
    entry: "suv",
    fields: ["scale"],
    affine: true,
    values: (p, image) =>
      Effect.map(resolveSuv(image, p.body), (f) => ({ values: { scale: f.scale }, notes: suvNotes(f) })),
    cpu: ({ scale }) => (x) => scale * x,
  },
});
