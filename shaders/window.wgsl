// window.wgsl - VOI LUT functions (DICOM PS3.3 C.11.2.1.2 and C.11.2.1.3) into [ymin, ymax], then the
// MONOCHROME1 / Presentation LUT INVERSE inversion y' = ymax + ymin - y.
//   LINEAR:       c' = c - 0.5, w' = w - 1; x <= c' - w'/2 -> ymin; x > c' + w'/2 -> ymax;
//                 else ((x - c') / w' + 0.5) (ymax - ymin) + ymin
//   LINEAR_EXACT: the same with c' = c, w' = w
//   SIGMOID:      (ymax - ymin) / (1 + exp(-4 (x - c) / w)) + ymin
// WindowParams (generated from TypeScript): center, width, ymin, ymax, mode, invert. `mode` and `invert`
// are choices: when a batch agrees on them the fused kernel has them as constants and the branches fold.
// The mode constants WINDOW_LINEAR, WINDOW_LINEAR_EXACT, WINDOW_SIGMOID are generated from TypeScript too.

fn window(x: f32, c: u32, p: WindowParams) -> f32 {
  var y: f32;
  if (p.mode == WINDOW_SIGMOID) {
    y = (p.ymax - p.ymin) / (1.0 + exp(-4.0 * (x - p.center) / p.width)) + p.ymin;
  } else {
    let exact = p.mode == WINDOW_LINEAR_EXACT;
    let c1 = select(p.center - 0.5, p.center, exact);
    let w1 = select(p.width - 1.0, p.width, exact);
    let ramp = ((x - c1) / w1 + 0.5) * (p.ymax - p.ymin) + p.ymin;
    y = select(select(ramp, p.ymax, x > c1 + w1 / 2.0), p.ymin, x <= c1 - w1 / 2.0);
  }
  return select(y, p.ymax + p.ymin - y, p.invert > 0.5);
}
