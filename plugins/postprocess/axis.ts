/**
 * CPU references of the prediction post-processing (shaders/axis.wgsl): operations along axis 1 of a
 * tensor viewed as `[outer, axis, inner]`.
 *
 * @module
 */

/** The `[outer, axis, inner]` view of a shape `[frames, axis, ...rest]` (rank-1 tensors: axis 1). */
export const axisView = (shape: ReadonlyArray<number>) => {
  const outer = shape[0];
  const axis = shape.length > 1 ? shape[1] : 1;
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  return { outer, axis, inner };
};

/** Softmax along axis 1 (numerically stable: the maximum is subtracted first). */
export const softmaxAxis = (x: Float32Array, shape: ReadonlyArray<number>): Float32Array => {
  const { outer, axis, inner } = axisView(shape);
  const out = new Float32Array(x.length);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * axis * inner + i;
      let m = x[base];
      for (let a = 1; a < axis; a++) m = Math.max(m, x[base + a * inner]);
      let sum = 0;
      for (let a = 0; a < axis; a++) sum += Math.exp(x[base + a * inner] - m);
      for (let a = 0; a < axis; a++) out[base + a * inner] = Math.exp(x[base + a * inner] - m) / sum;
    }
  }
  return out;
};

/** Index of the largest value along axis 1 (the first on ties); shape `[frames, ...rest]`. */
export const argmaxAxis = (x: Float32Array, shape: ReadonlyArray<number>): Float32Array => {
  const { outer, axis, inner } = axisView(shape);
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = o * axis * inner + i;
      let best = 0;
      for (let a = 1; a < axis; a++) if (x[base + a * inner] > x[base + best * inner]) best = a;
      out[o * inner + i] = best;
    }
  }
  return out;
};

/**
 * The k largest values of each row of `[frames, classes]` (value descending, index ascending on ties), as
 * `[frames, 2, k]`: per frame the k scores, then their k class indices.
 */
export const topkAxis = (x: Float32Array, shape: ReadonlyArray<number>, k: number): Float32Array => {
  const { outer, axis } = axisView(shape);
  const out = new Float32Array(outer * 2 * k);
  for (let o = 0; o < outer; o++) {
    const order = Array.from({ length: axis }, (_, a) => a)
      .sort((a, b) => x[o * axis + b] - x[o * axis + a] || a - b);
    for (let j = 0; j < k; j++) {
      out[o * 2 * k + j] = x[o * axis + order[j]];
      out[o * 2 * k + k + j] = order[j];
    }
  }
  return out;
};
