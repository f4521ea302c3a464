/**
 * The interface every pixel data codec implements: one compressed frame in, integer samples out.
 *
 * Codecs never interpret DICOM semantics beyond what they must (BitsStored masking, sign extension and
 * colour models are applied by the decoder afterwards, identically for every codec); they report what they
 * did, notably whether they converted the colour model to RGB themselves, so that the colour transform is
 * done exactly once.
 *
 * @module
 */

/** What the data set says a frame should be. */
export interface FrameRequest {
  readonly rows: number;
  readonly cols: number;
  /** SamplesPerPixel. */
  readonly samples: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  /** PixelRepresentation 1. */
  readonly signed: boolean;
  /** PhotometricInterpretation as stored. */
  readonly photometric: string;
  /** 1-based, for messages. */
  readonly frame: number;
}

/** Integer samples of one decoded frame. */
export type SampleArray =
  | Uint8Array
  | Uint8ClampedArray
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array;

/** One decoded frame. */
export interface DecodedFrame {
  /** Memory the caller owns: a codec never keeps or reuses it (the decoder frees it once copied). */
  readonly samples: SampleArray;
  readonly rows: number;
  readonly cols: number;
  readonly components: number;
  /** Sample-interleaved (RGBRGB...) rather than planar (all R, then all G, then all B). */
  readonly interleaved: boolean;
  /** The codec turned YCbCr (JPEG) or RCT/ICT (JPEG 2000) into RGB itself. */
  readonly convertedToRgb: boolean;
}

/** A loaded codec. `decode` is synchronous; loading (WASM instantiation) is what is asynchronous. */
export interface FrameCodec {
  /** Human-readable name, e.g. "CharLS 2 (WASM, @cornerstonejs/codec-charls)". */
  readonly name: string;
  /**
   * Decodes one frame.
   *
   * @throws DicomDecodeError (TRUNCATED, INVALID_DICOM or UNSUPPORTED_PIXEL_DATA), or anything the
   *   underlying library throws (the decoder turns those into coded errors)
   */
  decode(data: Uint8Array, request: FrameRequest): DecodedFrame;
}
