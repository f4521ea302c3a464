// unpack.wgsl - stored pixel words -> stored values (DICOM PS3.5 8.1.1, PS3.3 C.7.6.3.1).
//
// The raw Pixel Data words of a batch are uploaded as the file has them (each image padded to whole 32-bit
// words). A batch has one storage format, fixed in the generated kernel as constants (core/gpu/fuse.ts):
//   UNPACK_BITS_STORED: u32  BitsStored
//   UNPACK_SHIFT: u32        HighBit + 1 - BitsStored
//   UNPACK_SIGNED: bool      PixelRepresentation = 1
//   UNPACK_SWAP: bool        big endian transfer syntax: swap bytes within 16-bit words (OW data is 16-bit
//                            words, so 8-bit samples swap pairwise and 32-bit samples within each half, as
//                            dcmtk and gdcm read them)
// A sample is shifted right by UNPACK_SHIFT, masked to BitsStored bits and sign-extended from bit
// BitsStored - 1 when signed, so garbage in the unused high bits never survives.

fn swap_halves(v: u32) -> u32 {
  return ((v & 0x00FF00FFu) << 8u) | ((v >> 8u) & 0x00FF00FFu);
}

// Sample j (0..3) of a word of 8-bit samples.
fn raw8_sample(word: u32, j: u32) -> u32 {
  return (word >> (select(j, j ^ 1u, UNPACK_SWAP) * 8u)) & 0xFFu;
}

// Sample h (0, 1) of a word of 16-bit samples.
fn raw16_sample(word: u32, h: u32) -> u32 {
  let v = (word >> (h * 16u)) & 0xFFFFu;
  return select(v, swap_halves(v), UNPACK_SWAP);
}

// The sample of a word of 32-bit samples.
fn raw32_sample(word: u32) -> u32 {
  return select(word, swap_halves(word), UNPACK_SWAP);
}

// The stored value of a sample: shifted, masked to BitsStored bits, sign-extended when signed.
fn stored_value(sample: u32) -> f32 {
  let shifted = sample >> UNPACK_SHIFT;
  if (UNPACK_BITS_STORED >= 32u) {
    return select(f32(shifted), f32(bitcast<i32>(shifted)), UNPACK_SIGNED);
  }
  // Move bit BitsStored - 1 to bit 31, then shift back: logical (mask) or arithmetic (sign extension).
  let up = (32u - UNPACK_BITS_STORED) & 31u;
  let top = shifted << up;
  return select(f32(top >> up), f32(bitcast<i32>(top) >> up), UNPACK_SIGNED);
}
