// unpack.wgsl - stored pixel words -> stored values (DICOM PS3.5 8.1.1, PS3.3 C.7.6.3.1).
//
// Loads sample `k` of an image whose raw Pixel Data words start at word `base` of `src` (array<u32>, the
// file's bytes as uploaded, each image padded to whole words), then: swap bytes within 16-bit words (big
// endian transfer syntax; OW data is 16-bit words, so 8-bit samples swap pairwise and 32-bit samples swap
// within each half, as dcmtk and gdcm read them), shift right by HighBit + 1 - BitsStored, mask to
// BitsStored bits, and sign-extend from bit BitsStored - 1 when PixelRepresentation is 1. Garbage in the
// unused high bits never survives.
//
// UnpackParams (generated from TypeScript): bits_stored, shift, signed, swap, planar - f32 holding integers
// (planar is used by the fused kernel's indexing: 0 = samples interleaved RGBRGB..., 1 = planes).
// The fused kernel chooses load_raw8 / load_raw16 / load_raw32 by BitsAllocated (part of the cache key).

fn swap_halves(v: u32) -> u32 {
  return ((v & 0x00FF00FFu) << 8u) | ((v >> 8u) & 0x00FF00FFu);
}

fn load_raw8(base: u32, k: u32, p: UnpackParams) -> u32 {
  let j = select(k, k ^ 1u, p.swap > 0.5);
  return (src[base + (j >> 2u)] >> ((j & 3u) * 8u)) & 0xFFu;
}

fn load_raw16(base: u32, k: u32, p: UnpackParams) -> u32 {
  let v = (src[base + (k >> 1u)] >> ((k & 1u) * 16u)) & 0xFFFFu;
  return select(v, swap_halves(v), p.swap > 0.5);
}

fn load_raw32(base: u32, k: u32, p: UnpackParams) -> u32 {
  let v = src[base + k];
  return select(v, swap_halves(v), p.swap > 0.5);
}

fn stored_value(word: u32, p: UnpackParams) -> f32 {
  let bits = u32(p.bits_stored);
  let shifted = word >> u32(p.shift);
  if (bits >= 32u) {
    return select(f32(shifted), f32(bitcast<i32>(shifted)), p.signed > 0.5);
  }
  let m = shifted & ((1u << bits) - 1u);
  if (p.signed > 0.5 && (m & (1u << (bits - 1u))) != 0u) {
    return f32(i32(m) - i32(1u << (bits - 1u)) - i32(1u << (bits - 1u)));
  }
  return f32(m);
}
