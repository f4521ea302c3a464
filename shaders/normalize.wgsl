// normalize.wgsl - per-channel (x - mean[c]) * (1 / std[c]), as torchvision's Normalize.
// Channel replication (gray -> RGB) happens in the fused kernel's indexing: the kernel reads input channel 0
// for every output channel c and passes c here.
// NormalizeParams (generated from TypeScript): mean0..mean2, inv0..inv2 (inv = 1 / std), one per channel
// up to NORMALIZE_MAX_CHANNELS (generated constant).

fn normalize(x: f32, c: u32, p: NormalizeParams) -> f32 {
  let m = select(select(p.mean0, p.mean1, c == 1u), p.mean2, c == 2u);
  let s = select(select(p.inv0, p.inv1, c == 1u), p.inv2, c == 2u);
  return (x - m) * s;
}
