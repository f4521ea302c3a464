// suv.wgsl - PET standardized uptake value, body weight (QIBA): SUVbw = activity concentration (Bq/ml) * scale,
//   scale = weight (g) / dose decayed to the scan start (Bq), from the file's header (dicom/pet.ts).
// SuvParams (generated from TypeScript): scale (per image).

fn suv(x: f32, c: u32, p: SuvParams) -> f32 {
  return p.scale * x;
}
