// window.wgsl - VOI LUT functions (DICOM PS3.3 C.11.2.1.2 and C.11.2.1.3) into [ymin, ymax], then the
// MONOCHROME1 / Presentation LUT INVERSE inversion y' = ymax + ymin - y.
//   LINEAR:       c' = c - 0.5, w' = w - 1; x <= c' - w'/2 -> ymin; x > c' + w'/2 -> ymax;
//                 else ((x - c') / w' + 0.5) (ymax - ymin) + ymin
//   LINEAR_EXACT: x <= c - w/2 -> ymin; x > c + w/2 -> ymax; else ((x - c) / w + 0.5) (ymax - ymin) + ymin
//   SIGMOID:      (ymax - ymin) / (1 + exp(-4 (x - c) / w)) + ymin
// WindowParams (generated from TypeScript): center, width, ymin, ymax, mode, invert.
// The mode constants WINDOW_LINEAR, WINDOW_LINEAR_EXACT, WINDOW_SIGMOID are generated from TypeScript too.

fn window(x: f32, c: u32, p: WindowParams) -> f32 {
  var y: f32;
  if (p.mode == WINDOW_LINEAR) {
    let c1 = p.center - 0.5;
    let w1 = p.width - 1.0;
    if (x <= c1 - w1 / 2.0) {
      y = p.ymin;
    } else if (x > c1 + w1 / 2.0) {
      y = p.ymax;
    } else {
      y = ((x - c1) / w1 + 0.5) * (p.ymax - p.ymin) + p.ymin;
    }
  } else if (p.mode == WINDOW_LINEAR_EXACT) {
    if (x <= p.center - p.width / 2.0) {
      y = p.ymin;
    } else if (x > p.center + p.width / 2.0) {
      y = p.ymax;
    } else {
      y = ((x - p.center) / p.width + 0.5) * (p.ymax - p.ymin) + p.ymin;
    }
  } else {
    y = (p.ymax - p.ymin) / (1.0 + exp(-4.0 * (x - p.center) / p.width)) + p.ymin;
  }
  if (p.invert > 0.5) {
    y = p.ymax + p.ymin - y;
  }
  return y;
}
