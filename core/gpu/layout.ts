/**
 * WGSL declarations generated from TypeScript, so that no layout or constant is written twice.
 *
 * - {@link wgslStruct}: one field list gives the WGSL `struct` and the bytes TypeScript writes for it (the
 *   dimensions uniform of a kernel, say): fields are 4-byte scalars, padded to 16 bytes for uniform use.
 * - {@link wgslConst}: a `const` declaration from a TypeScript value (a kernel's fixed choices, the
 *   workgroup size), written as an exact literal.
 * - {@link WORKGROUP_SIZE}: the invocations per workgroup of every dcmflow kernel; kernels say
 *   `@workgroup_size(WORKGROUP_SIZE)` and the constant is emitted before them.
 *
 * @module
 */

/** A 4-byte WGSL scalar type. */
export type WgslScalar = "u32" | "i32" | "f32";

/** Type of a generated constant: a scalar, or `bool`. */
export type WgslConstType = WgslScalar | "bool";

/**
 * Invocations per workgroup of every dcmflow kernel: a multiple of every vendor's SIMD width (32 on
 * NVIDIA/Apple, 64 on AMD, 8 on llvmpipe's 256-bit lanes) and the WebGPU default limit
 * (maxComputeInvocationsPerWorkgroup). Emitted into each kernel as `const WORKGROUP_SIZE: u32`.
 */
export const WORKGROUP_SIZE = 256;

/** A WGSL literal of `value` as `type` (exact: integers as integers, floats with their shortest digits). */
export const wgslLiteral = (type: WgslConstType, value: number | boolean): string => {
  if (type === "bool") return value ? "true" : "false";
  const v = Number(value);
  if (!Number.isFinite(v)) throw new RangeError(`WGSL has no literal for ${v}`);
  if (type === "f32") {
    const s = String(v);
    return /[.eE]/.test(s) ? s : `${s}.0`;
  }
  if (!Number.isInteger(v)) throw new RangeError(`${type} constant must be an integer (got ${v})`);
  return type === "u32" ? `${v >>> 0}u` : `${v | 0}i`;
};

/** `const NAME: TYPE = VALUE;` */
export const wgslConst = (name: string, type: WgslConstType, value: number | boolean): string =>
  `const ${name}: ${type} = ${wgslLiteral(type, value)};`;

/** The workgroup-size constant every kernel starts with. */
export const workgroupSizeDecl = (): string => wgslConst("WORKGROUP_SIZE", "u32", WORKGROUP_SIZE);

/** A struct shared by TypeScript and WGSL. */
export interface WgslStruct<F extends string> {
  readonly name: string;
  readonly fields: ReadonlyArray<F>;
  /** The WGSL declaration (padding members `_padN` included). */
  readonly wgsl: string;
  /** Size in bytes, a multiple of 16. */
  readonly bytes: number;
  /** The bytes of one value, laid out as the WGSL struct. */
  readonly pack: (values: Readonly<Record<F, number>>) => Uint8Array<ArrayBuffer>;
}

/** Defines a struct of 4-byte scalars from one field list: its WGSL and its packing. */
export const wgslStruct = <F extends string>(
  name: string,
  types: Readonly<Record<F, WgslScalar>>,
): WgslStruct<F> => {
  const fields = Object.keys(types) as F[];
  const slots = Math.max(4, Math.ceil(fields.length / 4) * 4);
  const members = fields.map((f) => `${f}: ${types[f]}`);
  for (let i = fields.length; i < slots; i++) members.push(`_pad${i - fields.length}: u32`);
  const setters = fields.map((f) =>
    types[f] === "f32"
      ? (v: DataView, at: number, x: number) => v.setFloat32(at, x, true)
      : types[f] === "i32"
      ? (v: DataView, at: number, x: number) => v.setInt32(at, x, true)
      : (v: DataView, at: number, x: number) => v.setUint32(at, x, true)
  );
  return {
    name,
    fields,
    wgsl: `struct ${name} { ${members.join(", ")} }`,
    bytes: slots * 4,
    pack: (values) => {
      const out = new Uint8Array(slots * 4);
      const view = new DataView(out.buffer);
      fields.forEach((f, i) => {
        const x = values[f];
        if (!Number.isFinite(x)) throw new RangeError(`${name}.${f} = ${x}`);
        setters[i](view, i * 4, x);
      });
      return out;
    },
  };
};
