// axis.wgsl - reductions along axis 1 of a prediction tensor viewed as [outer, axis, inner] (outer: batch
// images x frames; axis: classes or mask channels; inner: the rest, e.g. rows x cols). One invocation per
// (outer, inner) position, looping over the axis.
//   softmax_axis: out[o, a, i] = exp(x[o, a, i] - max_a x) / sum_a exp(x[o, a, i] - max_a x)
//   argmax_axis:  out[o, i]    = the first a with the largest x[o, a, i]
//   topk_axis:    out[o, 0, j] = the j-th largest x[o, a] (j < k) and out[o, 1, j] its index a (ties: smaller
//                 index first): per frame a [2, k] block of scores then indices.

// AxisDims (generated from TypeScript, plugins/postprocess/axis_gpu.ts): outer, axis, inner, k, total
// (invocations), row_pitch (invocations per grid row).

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> d: AxisDims;

// Index of element (o, 0, i) for invocation t = o * inner + i.
fn axis_base(t: u32) -> u32 {
  return (t / d.inner) * d.axis * d.inner + t % d.inner;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn softmax_axis(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * d.row_pitch;
  if (t >= d.total) { return; }
  let base = axis_base(t);
  var m = src[base];
  for (var a = 1u; a < d.axis; a++) { m = max(m, src[base + a * d.inner]); }
  var sum = 0.0;
  for (var a = 0u; a < d.axis; a++) { sum += exp(src[base + a * d.inner] - m); }
  for (var a = 0u; a < d.axis; a++) { dst[base + a * d.inner] = exp(src[base + a * d.inner] - m) / sum; }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn argmax_axis(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * d.row_pitch;
  if (t >= d.total) { return; }
  let base = axis_base(t);
  var best = 0u;
  for (var a = 1u; a < d.axis; a++) {
    if (src[base + a * d.inner] > src[base + best * d.inner]) { best = a; }
  }
  dst[t] = f32(best);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn topk_axis(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x + gid.y * d.row_pitch;
  if (o >= d.outer) { return; }
  let base = o * d.axis;
  // Selection by rank: the next entry is the largest one ranked after the previous (value desc, index asc).
  var prev_v = 0.0;
  var prev_a = 0u;
  for (var j = 0u; j < d.k; j++) {
    var best_a = d.axis;
    var best_v = 0.0;
    for (var a = 0u; a < d.axis; a++) {
      let v = src[base + a];
      let after_prev = j == 0u || v < prev_v || (v == prev_v && a > prev_a);
      if (after_prev && (best_a == d.axis || v > best_v)) {
        best_a = a;
        best_v = v;
      }
    }
    dst[o * 2u * d.k + j] = best_v;
    dst[o * 2u * d.k + d.k + j] = f32(best_a);
    prev_v = best_v;
    prev_a = best_a;
  }
}
