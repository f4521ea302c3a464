// rescale.wgsl - Modality LUT as a linear function (DICOM PS3.3 C.11.1.1.2):
//   out = RescaleSlope * stored + RescaleIntercept
// RescaleParams (generated from TypeScript): slope, intercept (per image, from the file or the pipeline).
// Images with a Modality LUT Sequence are rescaled on the CPU (a table lookup, not this function).

fn rescale(x: f32, c: u32, p: RescaleParams) -> f32 {
  return p.slope * x + p.intercept;
}
