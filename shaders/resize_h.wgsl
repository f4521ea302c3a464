// resize_h.wgsl - the width pass of the resize, with the filter tables of the CPU path
// (plugins/resize/cpu.ts `axisTable`, computed once per size pair and uploaded once per device):
//   out[line, x] = sum_k weights[x * TAPS + k] * in[line, starts[x] + k]   for k < counts[x]
// accumulated in float32 with fused multiply-adds, as ATen's _upsample_bilinear2d_aa (torchvision's resize
// with antialias=True), plain bilinear (align_corners=False) or nearest, depending on the tables. The width
// pass runs first, as in ATen, so that both paths round the intermediate rows alike.
//
// Generated constants (plugins/resize/gpu.ts), fixed per size pair: ROWS, IN_COLS, OUT_COLS, TAPS (the most
// taps of any output), ROWS_PER_INVOCATION, QUADS (groups of 4 outputs per row), UNITS (invocations per
// plane: QUADS * row blocks), ROW_PITCH (invocations per grid row).
// Grid: gid.x + gid.y * ROW_PITCH = invocation in the plane, gid.z = plane (image x frame x channel).
// An invocation computes 4 neighbouring outputs of ROWS_PER_INVOCATION rows: their taps are read once, and
// each output reads its input window as whole vec4s (the taps picked out by the window's alignment). Each
// output adds the first counts[x] of TAPS taps: loops of fixed length, none depending on the data.

const WINDOW_VEC4S: u32 = (TAPS + 6u) / 4u;
const WHOLE_QUADS: bool = OUT_COLS % 4u == 0u;

@group(0) @binding(0) var<storage, read> src: array<vec4f>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> starts: array<u32>;
@group(0) @binding(3) var<storage, read> counts: array<u32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;

struct Taps {
  start: u32,
  count: u32,
  weights: array<f32, TAPS>,
}

// The taps of output x (past the row's end: those of the last output, computed but never stored).
fn taps_of(x: u32) -> Taps {
  let i = min(x, OUT_COLS - 1u);
  var t: Taps;
  t.start = starts[i];
  t.count = counts[i];
  for (var k = 0u; k < TAPS; k++) {
    t.weights[k] = weights[i * TAPS + k];
  }
  return t;
}

// One output of the row whose first input value is `line`.
fn h_value(line: u32, t: Taps) -> f32 {
  let e = line + t.start;
  let o = e & 3u;
  var w: array<f32, WINDOW_VEC4S * 4u>;
  for (var i = 0u; i < WINDOW_VEC4S; i++) {
    let v = src[(e >> 2u) + i];
    w[4u * i] = v.x;
    w[4u * i + 1u] = v.y;
    w[4u * i + 2u] = v.z;
    w[4u * i + 3u] = v.w;
  }
  var acc = 0.0;
  for (var k = 0u; k < TAPS; k++) {
    let v = select(select(select(w[k], w[k + 1u], o == 1u), w[k + 2u], o == 2u), w[k + 3u], o == 3u);
    acc = select(acc, fma(t.weights[k], v, acc), k < t.count);
  }
  return acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn resize_h(@builtin(global_invocation_id) gid: vec3u) {
  let u = gid.x + gid.y * ROW_PITCH;
  if (u >= UNITS) {
    return;
  }
  let block = u / QUADS;
  let x0 = (u - block * QUADS) * 4u;
  let t0 = taps_of(x0);
  let t1 = taps_of(x0 + 1u);
  let t2 = taps_of(x0 + 2u);
  let t3 = taps_of(x0 + 3u);
  for (var r = 0u; r < ROWS_PER_INVOCATION; r++) {
    let row = block * ROWS_PER_INVOCATION + r;
    if (row >= ROWS) {
      break;
    }
    let line = gid.z * ROWS + row;
    let d = line * OUT_COLS + x0;
    dst[d] = h_value(line * IN_COLS, t0);
    if (WHOLE_QUADS || x0 + 1u < OUT_COLS) {
      dst[d + 1u] = h_value(line * IN_COLS, t1);
    }
    if (WHOLE_QUADS || x0 + 2u < OUT_COLS) {
      dst[d + 2u] = h_value(line * IN_COLS, t2);
    }
    if (WHOLE_QUADS || x0 + 3u < OUT_COLS) {
      dst[d + 3u] = h_value(line * IN_COLS, t3);
    }
  }
}
