// realworld.wgsl - Real World Value Mapping (DICOM PS3.3 C.7.6.16.2.11), linear form:
//   out = RealWorldValueSlope * stored + RealWorldValueIntercept
// RealWorldParams (generated from TypeScript): slope, intercept (per image, from the chosen mapping item).
// Mappings given as RealWorldValueLUTData are applied on the CPU (a table lookup).

fn realWorld(x: f32, c: u32, p: RealWorldParams) -> f32 {
  return p.slope * x + p.intercept;
}
