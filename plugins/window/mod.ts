/**
 * `window`: the VOI LUT (DICOM PS3.3 C.11.2) - modality values to a display range, [0, 1] by default.
 *
 * Explicit `center`/`width`, the file's own window (`from: dicom`, `which` picks one of several; each frame's
 * own when an enhanced multi-frame object's frames have different ones), or a named preset. MONOCHROME1
 * images (and Presentation LUT Shape INVERSE) are inverted after the VOI function, so that bright always
 * means dense.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Schema from "effect/Schema";
import {
  CpuFallback,
  defineStage,
  frameMeta,
  type FrameVoi,
  type Image,
  type ImageMeta,
  type LutTable,
  mapFrames,
  StageError,
  wgslFile,
  withData,
} from "../../plugin.ts";
import { PRESET_NAMES, PRESETS } from "./presets.ts";
import {
  applyVoiLut,
  applyWindow,
  minimumWidth,
  type VoiFunction,
  voiFunctionFromDicom,
  type VoiRange,
  type VoiWindow,
  windowFunction,
} from "./voi.ts";

const Params = Schema.Struct({
  center: Schema.optionalKey(
    Schema.Finite.annotate({ description: "window center (modality units, e.g. HU)" }),
  ),
  width: Schema.optionalKey(
    Schema.Finite.check(Schema.isGreaterThan(0)).annotate({
      description: "window width (> 0; >= 1 for linear)",
    }),
  ),
  from: Schema.optionalKey(
    Schema.Literal("dicom").annotate({ description: "use the file's VOI LUT or window" }),
  ),
  which: Schema.optionalKey(
    Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)).annotate({
      description: "with from: dicom, which of several windows (0-based, default 0)",
    }),
  ),
  preset: Schema.optionalKey(
    Schema.Literals(PRESET_NAMES).annotate({ description: `named CT window: ${PRESET_NAMES.join(", ")}` }),
  ),
  function: Schema.optionalKey(
    Schema.Literals(["linear", "linear_exact", "sigmoid"]).annotate({
      description: "VOI LUT function (default: the file's VOILUTFunction with from: dicom, else linear)",
    }),
  ),
  range: Schema.optionalKey(
    Schema.Tuple([Schema.Finite, Schema.Finite]).annotate({
      description: "output [ymin, ymax], default [0, 1]",
    }),
  ),
  invert: Schema.optionalKey(
    Schema.Literals(["auto", "always", "never"]).annotate({
      description: "auto (default): invert MONOCHROME1 and Presentation LUT Shape INVERSE",
    }),
  ),
});

/** Parameters of the `window` stage. */
export type WindowParams = typeof Params.Type;

/** Plan-time check of a parameter combination; a message when it cannot work. */
const checkParams = (p: WindowParams): string | undefined => {
  const explicit = p.center !== undefined || p.width !== undefined;
  const modes = [explicit, p.from !== undefined, p.preset !== undefined].filter(Boolean).length;
  if (modes !== 1) {
    return "give exactly one of `center` + `width`, `from: dicom`, or `preset` " +
      `(presets: ${PRESET_NAMES.join(", ")})`;
  }
  if (explicit && (p.center === undefined || p.width === undefined)) {
    return "`center` and `width` go together";
  }
  if (p.which !== undefined && p.from === undefined) {
    return "`which` selects among the file's windows: use it with `from: dicom`";
  }
  const width = p.width ?? (p.preset ? PRESETS[p.preset].width : undefined);
  if (width !== undefined && (p.function ?? "linear") === "linear" && width < minimumWidth("linear")) {
    return `a linear window needs width >= 1 (got ${width}); use function: linear_exact for narrower windows`;
  }
  if (p.range && !(p.range[0] < p.range[1])) {
    return `range must be [ymin, ymax] with ymin < ymax (got [${p.range}])`;
  }
  return undefined;
};

/** The VOI transformation chosen for one image: a window, or a VOI LUT Sequence table. */
export type ResolvedVoi =
  | { readonly type: "window"; readonly window: VoiWindow; readonly notes: Record<string, unknown> }
  | {
    readonly type: "lut";
    readonly lut: LutTable;
    readonly range: VoiRange;
    readonly invert: boolean;
    readonly notes: Record<string, unknown>;
  };

/** Chooses the window (or VOI LUT) for an image from the params and its metadata; shared by CPU and GPU. */
export const resolveVoi = Effect.fnUntraced(function* (p: WindowParams, meta: ImageMeta) {
  const range = { ymin: p.range?.[0] ?? 0, ymax: p.range?.[1] ?? 1 };
  const inverse = meta.photometric === "MONOCHROME1" || meta.presentationLutShape?.trim() === "INVERSE";
  const invert = p.invert === "always" || ((p.invert ?? "auto") === "auto" && inverse);
  const which = p.which ?? 0;
  if (p.from === "dicom" && meta.voiLuts && meta.voiLuts.length > 0) {
    const lut = meta.voiLuts[which];
    if (!lut) return yield* indexError(which, meta.voiLuts.length, "VOI LUT Sequence items");
    const notes = {
      window: { source: `dicom VOI LUT[${which}]`, explanation: lut.explanation, range, inverted: invert },
    };
    return { type: "lut", lut, range, invert, notes } as const satisfies ResolvedVoi;
  }
  let center: number;
  let width: number;
  let source: string;
  let fn: VoiFunction = p.function ?? "linear";
  if (p.from === "dicom") {
    if (meta.windows.length === 0) {
      return yield* new StageError({
        code: "MISSING_WINDOW",
        message: "the file has no WindowCenter/WindowWidth and no VOI LUT Sequence; " +
          "set `center`/`width` or a `preset` in the pipeline (or --set stages.window.center=... ).",
      });
    }
    const w = meta.windows[which];
    if (!w) return yield* indexError(which, meta.windows.length, "windows");
    ({ center, width } = w);
    source = `dicom[${which}]${w.explanation ? ` ${w.explanation}` : ""}`;
    fn = p.function ?? voiFunctionFromDicom(meta.voiLutFunction) ?? "linear";
    if (width < minimumWidth(fn)) {
      return yield* new StageError({
        code: "INVALID_WINDOW",
        message:
          `the file's window ${which} has width ${width}, too small for ${fn}; set center/width in the pipeline`,
      });
    }
  } else if (p.preset) {
    ({ center, width } = PRESETS[p.preset]);
    source = `preset ${p.preset}`;
  } else {
    center = p.center!;
    width = p.width!;
    source = "pipeline";
  }
  return {
    type: "window",
    window: { center, width, fn, range, invert },
    notes: { window: { center, width, function: fn, source, range, inverted: invert } },
  } as const satisfies ResolvedVoi;
});

/**
 * `from: dicom` on an image whose frames have different windows (`ImageMeta.frameVoi`, and no VOI LUT
 * Sequence, which is preferred): each frame's VOI. Undefined when the image's one window applies.
 */
const framesVoi = (p: WindowParams, image: Omit<Image, "data">): ReadonlyArray<FrameVoi> | undefined => {
  const frames = image.meta.frameVoi;
  if (p.from !== "dicom" || !frames || (image.meta.voiLuts?.length ?? 0) > 0) return undefined;
  return frames.length === image.shape[0] ? frames : undefined;
};

/** Each frame's window, resolved as {@link resolveVoi} resolves an image's (errors name the frame). */
const resolvePerFrame = (p: WindowParams, image: Omit<Image, "data">, frames: ReadonlyArray<FrameVoi>) =>
  Effect.forEach(frames, (_, f) =>
    resolveVoi(p, frameMeta(image.meta, f)).pipe(
      // A frame's VOI has no VOI LUT Sequence (framesVoi): always a window.
      Effect.map((voi) => (voi as Extract<ResolvedVoi, { type: "window" }>).window),
      Effect.mapError((e) =>
        new StageError({ code: e.code, message: `frame ${f + 1} of ${frames.length}: ${e.message}` })
      ),
    ));

/** The notes of a window per frame: each frame's center, width and function, in frame order. */
const perFrameNotes = (windows: ReadonlyArray<VoiWindow>, p: WindowParams) => {
  const [first] = windows;
  const fns = windows.map((w) => w.fn);
  return {
    window: {
      perFrame: true,
      center: windows.map((w) => w.center),
      width: windows.map((w) => w.width),
      function: fns.every((fn) => fn === fns[0]) ? fns[0] : fns,
      source: `dicom[${p.which ?? 0}] of each frame`,
      range: first.range,
      inverted: first.invert,
    },
  };
};

/** VOI function numbers shared with shaders/window.wgsl (emitted there as WGSL constants). */
export const WINDOW_MODES = { WINDOW_LINEAR: 0, WINDOW_LINEAR_EXACT: 1, WINDOW_SIGMOID: 2 } as const;

const MODE_OF: Record<VoiFunction, number> = {
  linear: WINDOW_MODES.WINDOW_LINEAR,
  linear_exact: WINDOW_MODES.WINDOW_LINEAR_EXACT,
  sigmoid: WINDOW_MODES.WINDOW_SIGMOID,
};

const FUNCTION_OF: ReadonlyArray<VoiFunction> = ["linear", "linear_exact", "sigmoid"];

/** The `window` stage. */
export const window = defineStage({
  name: "window",
  description:
    "VOI LUT: modality values -> display range [0, 1] (window, file's VOI, or preset; MONOCHROME1 inverted)",
  params: Params,
  examples: [{ center: 40, width: 400 }, { from: "dicom", which: 1 }, { preset: "lung" }],
  accepts: ["modality"],
  produces: "display",
  plan: (p, input) => checkParams(p) ?? { ...input, kind: "display" },
  run: (image, p) => {
    const frames = framesVoi(p, image);
    if (frames) {
      return Effect.map(
        resolvePerFrame(p, image, frames),
        (windows) =>
          withData(
            image,
            mapFrames(image.data, image.shape, image.shape[1], (f) => windowFunction(windows[f])),
            {
              kind: "display",
              notes: perFrameNotes(windows, p),
            },
          ),
      );
    }
    return Effect.map(resolveVoi(p, image.meta), (voi) =>
      withData(
        image,
        voi.type === "lut"
          ? applyVoiLut(image.data, voi.lut, voi.range, voi.invert)
          : applyWindow(image.data, voi.window),
        { kind: "display", notes: voi.notes },
      ));
  },
  elementwise: {
    shader: wgslFile(import.meta.url, "../../shaders/window.wgsl"),
    entry: "window",
    fields: ["center", "width", "ymin", "ymax", "mode", "invert"],
    constants: WINDOW_MODES,
    choices: ["mode", "invert"],
    values: (p, image) => {
      const frames = framesVoi(p, image);
      if (frames) {
        // each frame's own, asked for frame by frame (its header gives one window)
        return Effect.map(resolvePerFrame(p, image, frames), (windows) => ({
          values: {},
          perFrame: true,
          notes: perFrameNotes(windows, p),
        }));
      }
      return Effect.flatMap(resolveVoi(p, image.meta), (voi) => {
        if (voi.type === "lut") {
          return Effect.fail(new CpuFallback({ code: "CPU_FALLBACK", message: "VOI LUT Sequence" }));
        }
        const w = voi.window;
        return Effect.succeed({
          values: {
            center: w.center,
            width: w.width,
            ymin: w.range.ymin,
            ymax: w.range.ymax,
            mode: MODE_OF[w.fn],
            invert: w.invert ? 1 : 0,
          },
          notes: voi.notes,
        });
      });
    },
    cpu: (v) =>
      windowFunction({
        center: v.center,
        width: v.width,
        fn: FUNCTION_OF[v.mode],
        range: { ymin: v.ymin, ymax: v.ymax },
        invert: v.invert > 0.5,
      }),
  },
});

const indexError = (which: number, count: number, what: string) =>
  new StageError({
    code: "WINDOW_INDEX",
    message: `which: ${which} asks for ${what} #${which}, but the file has ${count} (0-based: 0..${
      count - 1
    })`,
  });
