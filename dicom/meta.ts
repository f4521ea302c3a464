/**
 * DICOM metadata of one image: what `readHeader` and the decoders return, and what travels beside every
 * image tensor in dcmflow.
 *
 * `decode` fills it from the file; later stages read what they need (rescale reads the Modality LUT
 * attributes, window reads the VOI attributes and the photometric interpretation) and may update it
 * (e.g. `window` records the window it applied).
 *
 * @module
 */

/** One (center, width) pair from WindowCenter / WindowWidth, with its explanation when present. */
export interface WindowValue {
  readonly center: number;
  readonly width: number;
  readonly explanation?: string;
}

/** A lookup table from a Modality LUT Sequence or VOI LUT Sequence item. */
export interface LutTable {
  /** Number of entries (0 in the descriptor means 65536). */
  readonly entries: number;
  /** First stored value mapped. */
  readonly firstMapped: number;
  /** Bits per entry. */
  readonly bits: number;
  readonly data: ReadonlyArray<number>;
  readonly explanation?: string;
}

/** Each frame's Modality LUT of an enhanced multi-frame object (see {@link ImageMeta.frameRescale}). */
export interface FrameRescale {
  readonly slopes: ReadonlyArray<number>;
  readonly intercepts: ReadonlyArray<number>;
}

/** One frame's VOI of an enhanced multi-frame object (see {@link ImageMeta.frameVoi}). */
export interface FrameVoi {
  readonly windows: ReadonlyArray<WindowValue>;
  readonly voiLutFunction?: string;
}

/**
 * One Real World Value Mapping item (PS3.3 C.7.6.16.2.11): stored values from `firstMapped` to `lastMapped`
 * to a physical quantity (an ADC in mm²/s, T1 in ms, SUV), linear (`slope`, `intercept`) or through `lut`
 * (one value per stored value from `firstMapped`).
 */
export interface RealWorldMapping {
  readonly firstMapped: number;
  readonly lastMapped: number;
  readonly slope?: number;
  readonly intercept?: number;
  readonly lut?: ReadonlyArray<number>;
  /** MeasurementUnitsCodeSequence's CodeValue (UCUM, e.g. "mm2/s") and CodeMeaning. */
  readonly units?: string;
  readonly unitsMeaning?: string;
  readonly label?: string;
  readonly explanation?: string;
}

/** Header facts about one DICOM image (all frames of one file). */
export interface ImageMeta {
  readonly transferSyntaxUid: string;
  readonly sopClassUid?: string;
  readonly sopInstanceUid?: string;
  readonly studyInstanceUid?: string;
  readonly seriesInstanceUid?: string;
  readonly modality?: string;
  /** PhotometricInterpretation as stored in the file, e.g. "MONOCHROME2". */
  readonly photometric: string;
  readonly rows: number;
  readonly cols: number;
  readonly frames: number;
  readonly samplesPerPixel: number;
  readonly bitsAllocated: number;
  readonly bitsStored: number;
  readonly highBit: number;
  /** 0 unsigned, 1 two's complement. */
  readonly pixelRepresentation: number;
  readonly planarConfiguration?: number;
  /**
   * Modality LUT: slope/intercept, 1 and 0 when absent. For an enhanced multi-frame object whose frames
   * have different ones, the first frame's: {@link frameRescale} then holds every frame's, and applies.
   */
  readonly rescaleSlope: number;
  readonly rescaleIntercept: number;
  /**
   * Enhanced multi-frame objects whose frames differ in their Pixel Value Transformation (per-frame
   * functional groups, e.g. Enhanced PET, or MR scaled per frame): each frame's RescaleSlope and
   * RescaleIntercept, in frame order. Absent when one applies to every frame. Whoever applies the Modality
   * LUT to such an image applies each frame's own (the `rescale` stage does).
   */
  readonly frameRescale?: FrameRescale;
  readonly rescaleType?: string;
  readonly modalityLut?: LutTable;
  /**
   * VOI: every WindowCenter/WindowWidth pair, in file order. For an enhanced multi-frame object whose frames
   * have different Frame VOI LUT windows, the first frame's: {@link frameVoi} then holds every frame's.
   */
  readonly windows: ReadonlyArray<WindowValue>;
  /**
   * Enhanced multi-frame objects whose frames differ in their Frame VOI LUT (per-frame functional groups:
   * each frame its own window, as MR often has): each frame's windows and VOI LUT function, in frame order.
   * Absent when every frame has the same. The `window` stage with `from: dicom` uses each frame's own.
   */
  readonly frameVoi?: ReadonlyArray<FrameVoi>;
  readonly voiLuts?: ReadonlyArray<LutTable>;
  /**
   * Real World Value Mapping items (top level, or the functional groups: shared, or every frame's when they
   * agree); for an enhanced multi-frame object whose frames have different ones, the first frame's, with
   * every frame's in {@link frameRealWorld}.
   */
  readonly realWorld?: ReadonlyArray<RealWorldMapping>;
  /** Each frame's Real World Value Mapping items, when the frames of an enhanced object differ in them. */
  readonly frameRealWorld?: ReadonlyArray<ReadonlyArray<RealWorldMapping>>;
  /** VOILUTFunction: LINEAR (default), LINEAR_EXACT or SIGMOID. */
  readonly voiLutFunction?: string;
  readonly presentationLutShape?: string;
  /** PixelSpacing [row spacing, column spacing] in mm. */
  readonly pixelSpacing?: readonly [number, number];
  readonly sliceThickness?: number;
  readonly imagePositionPatient?: readonly [number, number, number];
  /**
   * ImageOrientationPatient: direction cosines of the first row and the first column (LPS), from the file
   * or, for enhanced multi-frame objects, the Plane Orientation functional group of the first frame.
   */
  readonly imageOrientationPatient?: readonly [number, number, number, number, number, number];
  /** Set on a volume assembled from a series (`group: series`): its geometry (see {@link VolumeGeometry}). */
  readonly volume?: VolumeGeometry;
  readonly instanceNumber?: number;
  /**
   * Photometric interpretation of the decoded tensor: "RGB" for every colour input (RGB, YBR_FULL,
   * YBR_FULL_422, YBR_RCT, YBR_ICT, PALETTE COLOR: decode always outputs 3 RGB channels), else the stored
   * one. `photometric` keeps what the file says.
   */
  readonly decodedPhotometric?: string;
  /** How decode turned the stored colour model into RGB, e.g. "YBR_FULL_422 -> RGB by libjpeg-turbo". */
  readonly colourConversion?: string;
  /** The pixel data codec that decodes (or would decode) this file, e.g. "CharLS 2 (WASM)". */
  readonly codec?: string;
  /** PALETTE COLOR images: the Palette Color LUT descriptor (the tables stay in `dataset`). */
  readonly palette?: {
    readonly entries: number;
    readonly firstMapped: number;
    readonly bits: number;
    readonly segmented: boolean;
  };
  /** Float Pixel Data (7FE0,0008) or Double Float Pixel Data (7FE0,0009) instead of integer Pixel Data. */
  readonly floatPixelData?: "float32" | "float64";
  /**
   * What the decoder noticed but could read past, in DICOM terms: a damaged element outside the pixel
   * module that was skipped, a duplicated tag, frames missing at the end of the Pixel Data, which of two
   * readings of an ambiguous encoding was used. Absent when there is nothing to say.
   */
  readonly warnings?: ReadonlyArray<string>;
  /** The dcmjs naturalized dataset without pixel data, for plugins that need other attributes. */
  readonly dataset: Readonly<Record<string, unknown>>;
}

/**
 * The geometry of a volume `[slices, channels, rows, cols]` (slices ordered along the slice normal).
 *
 * `affine` is a 4x4 matrix, row-major, that maps a voxel index `(column, row, slice, 1)` to patient
 * coordinates in millimetres in DICOM's LPS frame (x to the patient's left, y posterior, z superior): its
 * columns are the row direction times the column spacing, the column direction times the row spacing, the
 * step from one slice to the next, and the centre of the first voxel of the first slice.
 */
export interface VolumeGeometry {
  /** 16 numbers, row-major. */
  readonly affine: ReadonlyArray<number>;
  /** Voxel spacing in mm: [row spacing, column spacing, slice spacing] (the norms of the affine's columns). */
  readonly spacing: readonly [number, number, number];
  /** SOPInstanceUID of each slice, in slice order (one file may give several slices: enhanced multi-frame). */
  readonly sopInstanceUids: ReadonlyArray<string>;
}

/**
 * The stored words of an uncompressed image as they are in the file, with what it takes to unpack them into
 * stored values (dcmflow unpacks them on the CPU and in shaders/unpack.wgsl on the GPU).
 */
export interface RawPixels {
  readonly type: "raw";
  /** Pixel data bytes as in the file (frames contiguous). */
  readonly bytes: Uint8Array;
  readonly bitsAllocated: 8 | 16 | 32;
  readonly bitsStored: number;
  /** Bits to shift right before masking: HighBit + 1 - BitsStored. */
  readonly shift: number;
  readonly signed: boolean;
  /** Big endian transfer syntax: swap the bytes of each word. */
  readonly byteSwap: boolean;
  /** 0: samples interleaved (RGBRGB...), 1: planar. */
  readonly planar: 0 | 1;
}
