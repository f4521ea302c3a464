// resample.wgsl - volumes [count, slices, channels, rows, cols] resampled to [count, out_d, channels, out_h,
// out_w], trilinear (align_corners=False) or nearest-exact, with the same per-axis tables as the CPU path
// (plugins/resample/cpu.ts): output index i of an axis reads inputs taps[2i], taps[2i+1] with weights
// weights[2i], weights[2i+1]; the tables of the slice, row and column axes follow one another.
// The value is computed as ATen's trilinear kernel nests it: along columns, then rows, then slices.
// `ResampleDims` and `WORKGROUP_SIZE` are generated from TypeScript (plugins/resample/gpu.ts DIMS). One invocation per output value.

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> taps: array<i32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<uniform> d: ResampleDims;

fn voxel(b: u32, z: i32, c: u32, y: i32, x: i32) -> f32 {
  return src[(((b * d.in_d + u32(z)) * d.channels + c) * d.in_h + u32(y)) * d.in_w + u32(x)];
}

// Two taps along columns at slice z, row y.
fn along_x(b: u32, z: i32, c: u32, y: i32, xt: u32) -> f32 {
  return weights[xt] * voxel(b, z, c, y, taps[xt]) + weights[xt + 1u] * voxel(b, z, c, y, taps[xt + 1u]);
}

// Two rows of column taps at slice z.
fn along_y(b: u32, z: i32, c: u32, yt: u32, xt: u32) -> f32 {
  return weights[yt] * along_x(b, z, c, taps[yt], xt) + weights[yt + 1u] * along_x(b, z, c, taps[yt + 1u], xt);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn resample(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x + gid.y * d.row_pitch;
  if (o >= d.total) {
    return;
  }
  let x = o % d.out_w;
  var t = o / d.out_w;
  let y = t % d.out_h;
  t = t / d.out_h;
  let c = t % d.channels;
  t = t / d.channels;
  let z = t % d.out_d;
  let b = t / d.out_d;
  let zt = 2u * z;
  let yt = 2u * (d.out_d + y);
  let xt = 2u * (d.out_d + d.out_h + x);
  dst[o] = weights[zt] * along_y(b, taps[zt], c, yt, xt) + weights[zt + 1u] * along_y(b, taps[zt + 1u], c, yt, xt);
}
