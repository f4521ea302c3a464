// resize_v.wgsl - the height pass of the resize (see resize_h.wgsl), on the rows the width pass wrote:
//   out[plane, y, x] = sum_k weights[y * TAPS + k] * in[plane, starts[y] + k, x]   for k < counts[y]
//
// Generated constants (plugins/resize/gpu.ts), fixed per size pair: IN_ROWS, ROW_UNITS (columns / lanes),
// TAPS, UNITS (invocations per plane: output rows * ROW_UNITS), ROW_PITCH, and `alias Lanes`: vec4f when
// the columns come in fours (vector loads and stores), else f32. Grid: gid.x + gid.y * ROW_PITCH =
// invocation in the plane, gid.z = plane.

@group(0) @binding(0) var<storage, read> src: array<Lanes>;
@group(0) @binding(1) var<storage, read_write> dst: array<Lanes>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read> counts: array<u32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn resize_v(@builtin(global_invocation_id) gid: vec3u) {
  let u = gid.x + gid.y * ROW_PITCH;
  if (u >= UNITS) {
    return;
  }
  let y = u / ROW_UNITS;
  let column = gid.z * IN_ROWS * ROW_UNITS + (u - y * ROW_UNITS);
  let s = starts[y];
  let n = counts[y];
  var acc = Lanes(0.0);
  for (var k = 0u; k < TAPS; k++) {
    let v = src[column + min(s + k, IN_ROWS - 1u) * ROW_UNITS];
    acc = select(acc, fma(Lanes(weights[y * TAPS + k]), v, acc), k < n);
  }
  dst[gid.z * UNITS + u] = acc;
}
