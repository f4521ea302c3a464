/**
 * An RLE Lossless encoder for tests and benches (PS3.5 Annex G): PackBits, and a frame of segments behind
 * its 64-byte header.
 *
 * @module
 */

/** PackBits of `d`: repeats of 2-128 where they occur, literals of 1-128 elsewhere. */
export function packBits(d: Uint8Array): Uint8Array {
  const out: number[] = [];
  let i = 0;
  while (i < d.length) {
    let run = 1;
    while (i + run < d.length && run < 128 && d[i + run] === d[i]) run++;
    if (run > 1) {
      out.push(257 - run, d[i]);
      i += run;
      continue;
    }
    let lit = 1;
    while (i + lit < d.length && lit < 128 && d[i + lit] !== d[i + lit - 1]) lit++;
    out.push(lit - 1, ...d.subarray(i, i + lit));
    i += lit;
  }
  return Uint8Array.from(out);
}

/** An RLE frame: the header (segment count, offsets), then the segments, each padded to an even length. */
export function rleFrame(segments: ReadonlyArray<Uint8Array>): Uint8Array {
  const even = segments.map((s) => s.length % 2 ? Uint8Array.from([...s, 0x80]) : s); // 0x80: a no-op header
  const out = new Uint8Array(64 + even.reduce((n, s) => n + s.length, 0));
  const v = new DataView(out.buffer);
  v.setUint32(0, even.length, true);
  let offset = 64;
  even.forEach((seg, i) => {
    v.setUint32(4 + 4 * i, offset, true);
    out.set(seg, offset);
    offset += seg.length;
  });
  return out;
}
