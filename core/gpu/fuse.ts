/**
 * Kernel fusion: a chain of elementwise stages (and the unpacking of raw words before them) becomes one
 * generated WGSL kernel, one dispatch per batch.
 *
 * Each elementwise stage contributes its WGSL function `fn ENTRY(x: f32, c: u32, p: ENTRYParams) -> f32`.
 * This module generates, from the TypeScript side only:
 * - the `ENTRYParams` structs from each stage's `fields` (all f32), and the `const`s each stage declares;
 * - the load: f32 values, or raw 8/16/32-bit words unpacked by shaders/unpack.wgsl with the batch's storage
 *   format (BitsStored, shift, signedness, byte order) fixed as constants;
 * - the indexing: a 3-D grid, `gid.x` over the values of a plane, `gid.y` over an image's output planes
 *   (frames x channels), `gid.z` over the batch's images, each invocation computing {@link lanesOf}
 *   consecutive values (4 when the plane allows: vector loads and stores, two 16-bit pixels per word); the
 *   channel counts are constants, so no invocation divides by a runtime value;
 * - the per-image values: one small uniform array, `paramVec4s` vec4s per image, read once per
 *   invocation (per image and frame, from a storage buffer, when an image's frames have their own:
 *   `paramFrames`, in the cache key as `pfN`); fields a stage marks as `choices` (the VOI function, an
 *   inversion) are written into the code as constants when every image of the batch agrees, so the branches
 *   on them fold away.
 *
 * The cache key names the variant (load, stages, fixed choices, lanes), e.g.
 * `fused:u16/12|rescale>window{mode=0,invert=0}>normalize|x4`; per-image values never enter it.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import type { RawPixels } from "../../dicom/mod.ts";
import { channelView, withChannels } from "../elementwise.ts";
import type { Elementwise } from "../stage.ts";
import type { Shape } from "../tensor.ts";
import { wgslFile } from "../wgsl.ts";
import type { GpuShape } from "./device.ts";
import { destroyAfterSubmit } from "./commands.ts";
import { createBuffer, dispatch, type ProgramInfo, type SourceSpan, uniformFrom } from "./kernels.ts";
import { wgslConst, wgslLiteral, wgslStruct, WORKGROUP_SIZE, workgroupSizeDecl } from "./layout.ts";
import type { BufferPool } from "./pool.ts";

const UNPACK = wgslFile(import.meta.url, "../../shaders/unpack.wgsl");

/** How a fused kernel reads its input: f32 values, or a batch's raw stored words in one storage format. */
export type LoadSpec =
  | { readonly kind: "f32" }
  | {
    readonly kind: "raw";
    readonly bitsAllocated: 8 | 16 | 32;
    readonly bitsStored: number;
    readonly shift: number;
    readonly signed: boolean;
    readonly byteSwap: boolean;
    /** Several samples per pixel, interleaved (RGBRGB...: Planar Configuration 0). */
    readonly interleaved: boolean;
  };

/** Reading f32 values. */
export const F32_LOAD: LoadSpec = { kind: "f32" };

/** The load of an upload's pixels (`channels`: samples per pixel). */
export const loadSpecOf = (
  pixels: RawPixels | { readonly type: "f32" },
  channels: number,
): LoadSpec =>
  pixels.type === "f32" ? F32_LOAD : {
    kind: "raw",
    bitsAllocated: pixels.bitsAllocated,
    bitsStored: pixels.bitsStored,
    shift: pixels.shift,
    signed: pixels.signed,
    byteSwap: pixels.byteSwap,
    interleaved: channels > 1 && pixels.planar === 0,
  };

/** A short name of a load, e.g. `f32`, `u16/12`, `i16/16>>0 swap`, `u8/8 interleaved`. */
export const loadKey = (l: LoadSpec): string =>
  l.kind === "f32"
    ? "f32"
    : `${l.signed ? "i" : "u"}${l.bitsAllocated}/${l.bitsStored}${l.shift ? `>>${l.shift}` : ""}${
      l.byteSwap ? " swap" : ""
    }${l.interleaved ? " interleaved" : ""}`;

/** One elementwise step of a fused kernel. */
export interface FusedStep {
  /** Stage label (id or use), for messages. */
  readonly label: string;
  readonly gpu: Elementwise<unknown>;
  /** The stage's params (for `channels`). */
  readonly params: unknown;
  /** e.g. `plugin "gamma-example"` or `built-in`, for compile errors. */
  readonly origin: string;
}

/** Field values of one image: one record per step. */
export type ImageValues = ReadonlyArray<Readonly<Record<string, number>>>;

/**
 * Field values of one image of a batch: its own, or each frame's when its frames have their own
 * (`KernelValues.perFrame`: an enhanced multi-frame object's per-frame functional groups).
 */
export type ItemValues = ImageValues | { readonly frames: ReadonlyArray<ImageValues> };

/** Each frame's values of an item (`frames` frames; one set for all when it has one). */
const valuesOfFrame = (v: ItemValues, f: number): ImageValues => ("frames" in v ? v.frames[f] : v);

/** Dimensions of a fused dispatch, in the `FusedDims` uniform (one field list for WGSL and TypeScript). */
export const FUSED_DIMS = wgslStruct("FusedDims", {
  /** Invocations per output plane: values per plane / lanes. */
  units: "u32",
  /** Output planes per image: frames * output channels. */
  planes_out: "u32",
  /** Values per plane (rows * cols for images). */
  plane: "u32",
  /** Elements of `src` per image. */
  src_stride: "u32",
});

/** The variant of a fused kernel: what its code depends on besides the stages. */
export interface FusedVariant {
  readonly load: LoadSpec;
  readonly steps: ReadonlyArray<FusedStep>;
  /** Values per invocation: 4 (vector loads and stores) or 1. */
  readonly lanes: 1 | 4;
  /** Input and output channels (constants of the code: channel indices without a runtime division). */
  readonly channels: readonly [number, number];
  /** Per step, the choice fields fixed for the whole batch. */
  readonly fixed: ReadonlyArray<Readonly<Record<string, number>>>;
  /**
   * Set when an image of the batch has values per frame: the values are then per (image, frame), this many
   * frames each, in a storage buffer (a uniform one would hold too few).
   */
  readonly paramFrames?: number;
}

/** 4 when the plane's values can be read and written four at a time, else 1. */
export const lanesOf = (load: LoadSpec, plane: number): 1 | 4 =>
  plane % 4 === 0 && !(load.kind === "raw" && load.interleaved) ? 4 : 1;

/** Offset of each step's first field in an image's parameter block, and the block's size in vec4s. */
export const paramLayout = (steps: ReadonlyArray<FusedStep>) => {
  let offset = 0;
  const offsets = steps.map((s) => {
    const o = offset;
    offset += s.gpu.fields.length;
    return o;
  });
  return { offsets, vec4s: Math.max(1, Math.ceil(offset / 4)) };
};

/** Images whose parameter blocks fit in one uniform binding. */
export const paramCapacity = (gpu: GpuShape, steps: ReadonlyArray<FusedStep>): number =>
  Math.floor(uniformVec4s(gpu) / paramLayout(steps).vec4s);

/** Size of the per-image parameter array (vec4s): one uniform binding, at most 64 KiB. */
const uniformVec4s = (gpu: GpuShape): number =>
  Math.floor(Math.min(65536, gpu.limits.maxUniformBufferBindingSize) / 16);

const structName = (entry: string) => `${entry[0].toUpperCase()}${entry.slice(1)}Params`;

/**
 * How raw samples sit in words, per BitsAllocated: the `src` element that holds 4 samples (and its size in
 * words), the 4 samples of such an element `w`, and for one sample `k`: its word and the sample in it.
 */
const RAW_LAYOUT = {
  8: {
    element: "u32",
    words: 1,
    four: [0, 1, 2, 3].map((j) => `raw8_sample(w, ${j}u)`),
    one: ["(k >> 2u)", (w: string) => `raw8_sample(${w}, k & 3u)`],
  },
  16: {
    element: "vec2u",
    words: 2,
    four: ["w.x, 0u", "w.x, 1u", "w.y, 0u", "w.y, 1u"].map((s) => `raw16_sample(${s})`),
    one: ["(k >> 1u)", (w: string) => `raw16_sample(${w}, k & 1u)`],
  },
  32: {
    element: "vec4u",
    words: 4,
    four: ["x", "y", "z", "w"].map((c) => `raw32_sample(w.${c})`),
    one: ["k", (w: string) => `raw32_sample(${w})`],
  },
} as const;

/**
 * The `src` element type (and its size in 32-bit words) and the WGSL that loads `LANES` values of image `b`
 * from sample `k`.
 */
const loader = (
  load: LoadSpec,
  lanes: 1 | 4,
): { readonly element: string; readonly words: number; readonly code: string } => {
  const at = (k: string) => `src[b * d.src_stride + ${k}]`;
  if (load.kind === "f32") {
    return lanes === 4
      ? { element: "vec4u", words: 4, code: `return bitcast<vec4f>(${at("(k >> 2u)")});` }
      : { element: "u32", words: 1, code: `return bitcast<f32>(${at("k")});` };
  }
  const raw = RAW_LAYOUT[load.bitsAllocated];
  if (lanes === 4) {
    const values = raw.four.map((s) => `stored_value(${s})`).join(", ");
    return {
      element: raw.element,
      words: raw.words,
      code: `let w = ${at("(k >> 2u)")};\n  return vec4f(${values});`,
    };
  }
  const [word, sample] = raw.one;
  return { element: "u32", words: 1, code: `return stored_value(${sample(at(word))});` };
};

/** The storage format constants shaders/unpack.wgsl reads. */
const unpackConstants = (load: Extract<LoadSpec, { kind: "raw" }>): string =>
  [
    wgslConst("UNPACK_BITS_STORED", "u32", load.bitsStored),
    wgslConst("UNPACK_SHIFT", "u32", load.shift),
    wgslConst("UNPACK_SIGNED", "bool", load.signed),
    wgslConst("UNPACK_SWAP", "bool", load.byteSwap),
  ].join("\n");

/** The cache key of a variant: short, and naming everything the code depends on. */
export const fusedKey = (v: FusedVariant): string => {
  const steps = v.steps.map((s, i) => {
    const fixed = Object.entries(v.fixed[i] ?? {}).map(([f, x]) => `${f}=${x}`).join(",");
    const name = s.gpu.shader.source.startsWith("shaders/")
      ? s.gpu.entry
      : `${s.gpu.entry}@${s.gpu.shader.source}`;
    return `${name}${fixed ? `{${fixed}}` : ""}`;
  });
  const [cIn, cOut] = v.channels;
  const perFrame = v.paramFrames ? `|pf${v.paramFrames}` : "";
  return `fused:${loadKey(v.load)}${perFrame}|${steps.join(">") || "load"}|c${cIn}${
    cOut === cIn ? "" : `>${cOut}`
  }|x${v.lanes}`;
};

/** Collects generated WGSL and where each block came from (for compile errors at the author's line). */
class WgslWriter {
  readonly lines: string[] = [];
  readonly spans: SourceSpan[] = [];

  push(text: string, source?: string): void {
    const block = text.replace(/\s+$/, "").split("\n");
    if (source) this.spans.push({ start: this.lines.length + 1, lines: block.length, source });
    this.lines.push(...block);
  }
}

/** The declarations and functions of the steps (each stage's function once, however often it appears). */
const pushSteps = (w: WgslWriter, steps: ReadonlyArray<FusedStep>) => {
  const seen = new Set<string>();
  for (const s of steps) {
    if (seen.has(s.gpu.entry)) continue;
    seen.add(s.gpu.entry);
    const consts = Object.entries(s.gpu.constants ?? {}).map(([k, v]) => wgslConst(k, "f32", v));
    // WGSL structs need a member: a stage without fields gets a placeholder.
    const members = s.gpu.fields.length > 0 ? s.gpu.fields.map((f) => `${f}: f32`) : ["_unused: f32"];
    w.push([`struct ${structName(s.gpu.entry)} { ${members.join(", ")} }`, ...consts].join("\n"));
    w.push(
      s.gpu.shader.text,
      `${s.gpu.shader.source}${s.origin === "built-in" ? "" : ` (stage "${s.label}" of ${s.origin})`}`,
    );
  }
};

/** `fn chain(...)`: the steps in order on one value (the last step sees output channels). */
const chainFunction = (v: FusedVariant): string => {
  const { offsets } = paramLayout(v.steps);
  const slot = (at: number) => `params[p + ${at >> 2}u].${"xyzw"[at & 3]}`;
  const calls = v.steps.map((s, i) => {
    const fields = s.gpu.fields.map((f, j) => {
      const fixed = v.fixed[i]?.[f];
      return fixed === undefined ? slot(offsets[i] + j) : wgslLiteral("f32", fixed);
    });
    const channel = i === v.steps.length - 1 ? "c_out" : "c_in";
    return `  x = ${s.gpu.entry}(x, ${channel}, ${structName(s.gpu.entry)}(${fields.join(", ") || "0.0"}));`;
  });
  return `fn chain(x0: f32, c_in: u32, c_out: u32, p: u32) -> f32 {\n  var x = x0;\n${
    calls.join("\n")
  }\n  return x;\n}`;
};

/** `fn main`: coordinates from the grid, one load, the chain on each lane, one store. */
const mainFunction = (v: FusedVariant): string => {
  const interleaved = v.load.kind === "raw" && v.load.interleaved;
  const first = interleaved ? "(f * d.plane + u) * C_IN + c_in" : "(f * C_IN + c_in) * d.plane + u * LANES";
  const lanes = v.lanes === 4
    ? "vec4f(chain(x.x, c_in, c_out, p), chain(x.y, c_in, c_out, p), chain(x.z, c_in, c_out, p), " +
      "chain(x.w, c_in, c_out, p))"
    : "chain(x, c_in, c_out, p)";
  return `@compute @workgroup_size(WORKGROUP_SIZE)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  // gid.x: values (LANES at a time) of a plane; gid.y: output plane (frame * C_OUT + channel); gid.z: image
  let u = gid.x;
  if (u >= d.units) { return; }
  let b = gid.z;
  let f = gid.y / C_OUT;
  let c_out = gid.y - f * C_OUT;
  let c_in = select(c_out, 0u, C_IN == 1u);
  let p = ${v.paramFrames ? "(b * PARAM_FRAMES + f)" : "b"} * PARAM_VEC4S;
  _ = params[0]; // keeps the binding in the layout when no stage has fields
  let x = load(b, ${first});
  dst[(b * d.planes_out + gid.y) * d.units + u] = ${lanes};
}`;
};

/** The fused program of a variant (see the module comment). */
export const fusedProgram = (gpu: GpuShape, v: FusedVariant): ProgramInfo => {
  const w = new WgslWriter();
  const { element, code } = loader(v.load, v.lanes);
  const value = v.lanes === 4 ? "vec4f" : "f32";
  w.push(
    `// Generated by core/gpu/fuse.ts: ${loadKey(v.load)} -> ${
      v.steps.map((s) => s.label).join(" -> ") || "(load only)"
    }, ${v.lanes} value(s) per invocation
${workgroupSizeDecl()}
${wgslConst("LANES", "u32", v.lanes)}
${wgslConst("PARAM_VEC4S", "u32", paramLayout(v.steps).vec4s)}${
      v.paramFrames ? `\n${wgslConst("PARAM_FRAMES", "u32", v.paramFrames)}` : ""
    }
${wgslConst("C_IN", "u32", v.channels[0])}
${wgslConst("C_OUT", "u32", v.channels[1])}
${FUSED_DIMS.wgsl}
@group(0) @binding(0) var<storage, read> src: array<${element}>;
@group(0) @binding(1) var<storage, read_write> dst: array<${value}>;
@group(0) @binding(2) ${
      v.paramFrames
        ? "var<storage, read> params: array<vec4f>"
        : `var<uniform> params: array<vec4f, ${uniformVec4s(gpu)}>`
    };
@group(0) @binding(3) var<uniform> d: FusedDims;`,
  );
  if (v.load.kind === "raw") {
    w.push(unpackConstants(v.load));
    w.push(UNPACK.text, UNPACK.source);
  }
  w.push(`fn load(b: u32, k: u32) -> ${value} {\n  ${code}\n}`);
  pushSteps(w, v.steps);
  w.push(chainFunction(v));
  w.push(mainFunction(v));
  const code_ = w.lines.join("\n") + "\n";
  return {
    name: `fused[${loadKey(v.load)}${v.steps.map((s) => ` -> ${s.label}`).join("")}]`,
    cacheKey: `${fusedKey(v)}#${uniformVec4s(gpu)}`,
    code: code_,
    entry: "main",
    spans: w.spans,
  };
};

/** Per step, the choice fields on which every image (with values) agrees. */
export const fixedChoices = (
  steps: ReadonlyArray<FusedStep>,
  values: ReadonlyArray<ItemValues | undefined>,
): ReadonlyArray<Readonly<Record<string, number>>> =>
  steps.map((s, i) => {
    const fixed: Record<string, number> = {};
    const all = values.flatMap((v) => (v === undefined ? [] : "frames" in v ? v.frames : [v]));
    for (const f of s.gpu.choices ?? []) {
      const seen = new Set(all.map((v) => v[i][f] ?? 0));
      if (seen.size === 1) fixed[f] = [...seen][0];
    }
    return fixed;
  });

/** A batch on the GPU as a fused kernel's input. */
export interface FusedInput {
  readonly buffer: GPUBuffer;
  readonly load: LoadSpec;
  /** 32-bit words per image in `buffer`. */
  readonly words: number;
  /** Shape of each image. */
  readonly shape: Shape;
  readonly count: number;
}

/** Output channels after the steps. */
export const channelsAfter = (steps: ReadonlyArray<FusedStep>, channels: number): number =>
  steps.reduce((c, s) => s.gpu.channels?.(s.params, c) ?? c, channels);

/**
 * Runs the fused kernel of `steps` over a batch: `values[i]` are image i's field values, or each of its
 * frames' (undefined: the image does not take part; its output is unspecified). Returns the f32 output
 * buffer (from the pool) and the shape of each output image; the input buffer is left to the caller.
 */
export const runFused = Effect.fnUntraced(
  function* (
    gpu: GpuShape,
    pool: BufferPool,
    input: FusedInput,
    steps: ReadonlyArray<FusedStep>,
    values: ReadonlyArray<ItemValues | undefined>,
  ) {
    const { frames, channels, plane } = channelView(input.shape);
    const perFrame = values.some((v) => v !== undefined && "frames" in v);
    const cOut = channelsAfter(steps, channels);
    const lanes = lanesOf(input.load, plane);
    const variant: FusedVariant = {
      load: input.load,
      steps,
      lanes,
      channels: [channels, cOut],
      fixed: fixedChoices(steps, values),
      ...(perFrame ? { paramFrames: frames } : {}),
    };
    const program = fusedProgram(gpu, variant);
    const units = plane / lanes;
    const planesOut = frames * cOut;
    const dims = yield* uniformFrom(
      gpu,
      FUSED_DIMS.pack({
        units,
        planes_out: planesOut,
        plane,
        src_stride: input.words / loader(input.load, lanes).words,
      }),
      "fused dims",
    );
    const params = yield* paramBuffer(gpu, steps, values, variant.paramFrames);
    const dst = yield* pool.acquire(input.count * planesOut * plane * 4, program.name);
    const grid = { x: Math.ceil(units / WORKGROUP_SIZE), y: planesOut, z: input.count };
    yield* dispatch(gpu, program, [input.buffer, dst, params, dims], grid, { defer: true });
    destroyAfterSubmit(gpu, dims);
    destroyAfterSubmit(gpu, params);
    return { buffer: dst, shape: withChannels(input.shape, cOut) };
  },
);

/**
 * The buffer of field values: `paramVec4s` vec4s per image in a uniform buffer, or per (image, frame) in a
 * storage buffer when `paramFrames` is set (an image with one set of values repeats it for each frame).
 */
const paramBuffer = Effect.fnUntraced(
  function* (
    gpu: GpuShape,
    steps: ReadonlyArray<FusedStep>,
    values: ReadonlyArray<ItemValues | undefined>,
    paramFrames?: number,
  ) {
    const { offsets, vec4s } = paramLayout(steps);
    const frames = paramFrames ?? 1;
    const floats = new Float32Array(
      paramFrames ? Math.max(1, values.length * frames * vec4s) * 4 : uniformVec4s(gpu) * 4,
    );
    values.forEach((v, i) => {
      if (!v) return;
      for (let f = 0; f < frames; f++) {
        const at = (i * frames + f) * vec4s * 4;
        const own = valuesOfFrame(v, f);
        steps.forEach((s, j) =>
          s.gpu.fields.forEach((k, n) => (floats[at + offsets[j] + n] = own[j][k] ?? 0))
        );
      }
    });
    const usage = paramFrames ? GPUBufferUsage.STORAGE : GPUBufferUsage.UNIFORM;
    return yield* createBuffer(gpu, floats.byteLength, usage, "params", floats);
  },
);
