// normalize_minmax.wgsl - `normalize` with mode: minmax on a batch (the CPU reference: plugins/normalize/minmax.ts).
// Two passes:
//   minmax_range / minmax_clip: one workgroup per group of values (an image, frame, channel or plane, see
//     GroupLayout in minmax.ts) writes the group's bounds [a, b] to `stats`: its minimum and maximum, or the
//     two percentiles NumPy's default "linear" method gives. Percentiles are exact order statistics found by a
//     radix select on the float bits (4 passes of 8 bits over the group; 4 ranks at once: i and j of each end),
//     then interpolated as numpy.percentile does.
//   minmax_apply: one invocation per output value: lo + (clamp(x, a, b) - a) * ((hi - lo) / (b - a)), or lo
//     when b <= a (a constant image); gray is replicated when c_out > c_in = 1.
// MinmaxDims (all u32; lo, hi, gamma_lo, gamma_hi are f32 bits) is generated from TypeScript (MINMAX_DIMS in
// plugins/normalize/minmax_gpu.ts) and prepended to this file.

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> stats: array<f32>;
@group(0) @binding(2) var<uniform> d: MinmaxDims;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>; // minmax_apply only

// Radix select on the 4 bytes of each value's order key: a histogram of 256 bins per wanted rank (4 ranks).
const RADIX_BINS: u32 = 256u;
var<workgroup> hist: array<atomic<u32>, 4u * RADIX_BINS>;
var<workgroup> prefix: array<u32, 4>;
var<workgroup> want: array<u32, 4>;
var<workgroup> low_key: atomic<u32>;
var<workgroup> high_key: atomic<u32>;

// A u32 whose unsigned order is the float order (negative values flipped, positive ones above them).
fn order_key(x: f32) -> u32 {
  let b = bitcast<u32>(x);
  return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

fn from_key(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// Index of value j of group g.
fn element(g: u32, j: u32) -> u32 {
  return (g / d.div) * d.stride + (g % d.div) * d.offset + (j / d.inner) * d.outer + j % d.inner;
}

// numpy's _lerp: computed from the nearer end.
fn lerp_np(a: f32, b: f32, t: f32) -> f32 {
  let diff = b - a;
  return select(a + diff * t, b - diff * (1.0 - t), t >= 0.5);
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn minmax_range(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * d.wg_pitch;
  if (g >= d.groups) { return; }
  if (lid == 0u) {
    atomicStore(&low_key, 0xffffffffu);
    atomicStore(&high_key, 0u);
  }
  workgroupBarrier();
  var lo_k = 0xffffffffu;
  var hi_k = 0u;
  for (var j = lid; j < d.group_len; j += WORKGROUP_SIZE) {
    let k = order_key(src[element(g, j)]);
    lo_k = min(lo_k, k);
    hi_k = max(hi_k, k);
  }
  atomicMin(&low_key, lo_k);
  atomicMax(&high_key, hi_k);
  workgroupBarrier();
  if (lid == 0u) {
    stats[2u * g] = from_key(atomicLoad(&low_key));
    stats[2u * g + 1u] = from_key(atomicLoad(&high_key));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn minmax_clip(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let g = wid.x + wid.y * d.wg_pitch;
  if (g >= d.groups) { return; }
  if (lid < 4u) {
    prefix[lid] = 0u;
    want[lid] = select(select(d.rank3, d.rank2, lid == 2u), select(d.rank1, d.rank0, lid == 0u), lid < 2u);
  }
  for (var step = 0u; step < 4u; step++) {
    let shift = 24u - 8u * step;
    let mask = ~(0xffffffffu >> (8u * step)); // the bits already decided
    for (var i = lid; i < 4u * RADIX_BINS; i += WORKGROUP_SIZE) { atomicStore(&hist[i], 0u); }
    workgroupBarrier();
    for (var j = lid; j < d.group_len; j += WORKGROUP_SIZE) {
      let k = order_key(src[element(g, j)]);
      let bin = (k >> shift) & (RADIX_BINS - 1u);
      for (var r = 0u; r < 4u; r++) {
        if ((k & mask) == prefix[r]) { atomicAdd(&hist[r * RADIX_BINS + bin], 1u); }
      }
    }
    workgroupBarrier();
    if (lid < 4u) {
      var left = want[lid];
      var bin = 0u;
      loop {
        let c = atomicLoad(&hist[lid * RADIX_BINS + bin]);
        if (left < c || bin == RADIX_BINS - 1u) { break; }
        left -= c;
        bin += 1u;
      }
      prefix[lid] = prefix[lid] | (bin << shift);
      want[lid] = left;
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    stats[2u * g] = lerp_np(from_key(prefix[0]), from_key(prefix[1]), bitcast<f32>(d.gamma_lo));
    stats[2u * g + 1u] = lerp_np(from_key(prefix[2]), from_key(prefix[3]), bitcast<f32>(d.gamma_hi));
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn minmax_apply(@builtin(global_invocation_id) gid: vec3u) {
  let o = gid.x + gid.y * d.row_pitch;
  if (o >= d.total) { return; }
  let b = o / d.image_len;
  let r = o % d.image_len;
  let px = r % d.plane;
  let fc = r / d.plane;
  let c_out = fc % d.c_out;
  let f = fc / d.c_out;
  let c_in = select(c_out, 0u, d.c_in == 1u);
  let x = src[b * d.src_len + (f * d.c_in + c_in) * d.plane + px];
  let g = b * d.per_image + f * d.frame_step + c_in * d.channel_step;
  let lo_b = stats[2u * g];
  let hi_b = stats[2u * g + 1u];
  let lo = bitcast<f32>(d.lo);
  let hi = bitcast<f32>(d.hi);
  dst[o] = select(lo, lo + (clamp(x, lo_b, hi_b) - lo_b) * ((hi - lo) / (hi_b - lo_b)), hi_b > lo_b);
}
