/**
 * Value representations (PS3.5 6.2): which exist, which have a 4-byte length in explicit VR, and the value
 * size of the binary ones (a length that is not a multiple of it marks a damaged element).
 *
 * @module
 */

/** Every value representation of PS3.5 Table 6.2-1. */
export const VRS: ReadonlySet<string> = new Set(
  "AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV"
    .split(" "),
);

/** VRs whose explicit header has 2 reserved bytes and a 32-bit length (PS3.5 7.1.2). */
export const LONG_VRS: ReadonlySet<string> = new Set([
  "OB",
  "OD",
  "OF",
  "OL",
  "OV",
  "OW",
  "SQ",
  "UC",
  "UN",
  "UR",
  "UT",
  "SV",
  "UV",
]);

/** Size of one value of a binary VR: its length must be a multiple of it. */
export const VALUE_SIZE: Readonly<Record<string, number>> = {
  AT: 4,
  FD: 8,
  FL: 4,
  OD: 8,
  OF: 4,
  OL: 4,
  OV: 8,
  OW: 2,
  SL: 4,
  SS: 2,
  SV: 8,
  UL: 4,
  US: 2,
  UV: 8,
};

/** The two characters at `at` as a VR, or undefined when they are not one. */
export function vrAt(bytes: Uint8Array, at: number): string | undefined {
  const vr = String.fromCharCode(bytes[at], bytes[at + 1]);
  return VRS.has(vr) ? vr : undefined;
}
