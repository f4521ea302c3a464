// resize.wgsl - one separable pass of the resize (the same filter tables as the CPU path, core/cpu/resize.ts):
//   out[plane, i along the axis] = sum_k weights[i * stride + k] * in[plane, start[i] + k], k < count[i]
// accumulated in float32 with fused multiply-adds, like ATen's _upsample_bilinear2d_aa (torchvision's
// resize with antialias=True), plain bilinear (align_corners=False) or nearest, depending on the tables.
// resize_h runs along columns ([planes, rows, in_cols] -> [planes, rows, out_cols]); resize_v along rows.
// One invocation per output value; 256 invocations per workgroup (see core/gpu/kernels.ts).

struct ResizeDims {
  planes: u32,
  rows: u32,      // rows of the input of this pass
  cols: u32,      // columns of the input of this pass
  out_len: u32,   // output length along the resized axis
  stride: u32,    // taps per output index in `weights`
  total: u32,     // number of output values of this pass
  row_pitch: u32, // invocations per dispatch row (2D dispatch for large batches)
  _pad: u32,
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> starts: array<i32>;
@group(0) @binding(3) var<storage, read> counts: array<i32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;
@group(0) @binding(5) var<uniform> d: ResizeDims;

@compute @workgroup_size(256)
fn resize_h(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x + gid.y * d.row_pitch;
  if (o >= d.total) {
    return;
  }
  let x = o % d.out_len;
  let line = o / d.out_len; // plane * rows + y
  let base = line * d.cols + u32(starts[x]);
  var acc = 0.0;
  for (var k = 0u; k < u32(counts[x]); k++) {
    acc = fma(weights[x * d.stride + k], src[base + k], acc);
  }
  dst[o] = acc;
}

@compute @workgroup_size(256)
fn resize_v(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x + gid.y * d.row_pitch;
  if (o >= d.total) {
    return;
  }
  let x = o % d.cols;
  let y = (o / d.cols) % d.out_len;
  let plane = o / (d.cols * d.out_len);
  let base = (plane * d.rows + u32(starts[y])) * d.cols + x;
  var acc = 0.0;
  for (var k = 0u; k < u32(counts[y]); k++) {
    acc = fma(weights[y * d.stride + k], src[base + k * d.cols], acc);
  }
  dst[o] = acc;
}
