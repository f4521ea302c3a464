// sigmoid.wgsl - logistic function on every value: 1 / (1 + exp(-x)) (multi-label probabilities, masks).
// SigmoidParams has no fields (generated placeholder).

fn sigmoid(x: f32, c: u32, p: SigmoidParams) -> f32 {
  return 1.0 / (1.0 + exp(-x));
}
