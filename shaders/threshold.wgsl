// threshold.wgsl - binary mask: 1 where x >= p.value, else 0 (segmentation masks from probabilities).
// ThresholdParams (generated from TypeScript): value.

fn threshold(x: f32, c: u32, p: ThresholdParams) -> f32 {
  return select(0.0, 1.0, x >= p.value);
}
