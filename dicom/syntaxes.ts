/**
 * Transfer syntaxes (PS3.6 Table A-1): names, and which pixel data codec reads each.
 *
 * @module
 */
import { DicomDecodeError } from "./errors.ts";

/** Implicit VR Little Endian, the default syntax. */
export const IMPLICIT_LE = "1.2.840.10008.1.2";
/** Explicit VR Little Endian. */
export const EXPLICIT_LE = "1.2.840.10008.1.2.1";
/** Encapsulated Uncompressed Explicit VR Little Endian: native frames as fragments. */
export const ENCAPSULATED_UNCOMPRESSED = "1.2.840.10008.1.2.1.98";
/** Deflated Explicit VR Little Endian: the data set after the file meta is raw-deflated. */
export const DEFLATED_LE = "1.2.840.10008.1.2.1.99";
/** Explicit VR Big Endian (retired): multi-byte values and OW words are big endian. */
export const EXPLICIT_BE = "1.2.840.10008.1.2.2";
/** RLE Lossless (PS3.5 Annex G). */
export const RLE_LOSSLESS = "1.2.840.10008.1.2.5";

/**
 * How the pixel data of a syntax is stored.
 *
 * - `native`: uncompressed in one Pixel Data value (little or big endian, possibly inside a deflated data set).
 * - `uncompressed`: encapsulated, each frame's fragments hold the native little-endian bytes.
 * - `rle`, `jpeg` (every JPEG process: DCT 8/12-bit and lossless, chosen per frame from its SOF marker),
 *   `jpegls`, `j2k`, `htj2k`: encapsulated frames for that codec family.
 */
export type PixelEncoding = "native" | "uncompressed" | "rle" | "jpeg" | "jpegls" | "j2k" | "htj2k";

/** A transfer syntax: its PS3.6 name and whether its pixel data can be decoded. */
export interface TransferSyntaxInfo {
  readonly name: string;
  /** Whether {@link decodeDicom} can read its pixel data. */
  readonly supported: boolean;
  /** How its pixel data is encoded; absent for syntaxes that are not supported. */
  readonly encoding?: PixelEncoding;
  /** The syntax may be lossy (the decoded values then differ from the original acquisition). */
  readonly lossy?: boolean;
}

type Row = readonly [uid: string, name: string, encoding?: PixelEncoding, lossy?: boolean];

const TS_TABLE: ReadonlyArray<Row> = [
  [IMPLICIT_LE, "Implicit VR Little Endian", "native"],
  [EXPLICIT_LE, "Explicit VR Little Endian", "native"],
  [ENCAPSULATED_UNCOMPRESSED, "Encapsulated Uncompressed Explicit VR Little Endian", "uncompressed"],
  [DEFLATED_LE, "Deflated Explicit VR Little Endian", "native"],
  [EXPLICIT_BE, "Explicit VR Big Endian (Retired)", "native"],
  ["1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", "jpeg", true],
  ["1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", "jpeg", true],
  ["1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5) (Retired)"],
  ["1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8) (Retired)"],
  ["1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9) (Retired)"],
  ["1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12) (Retired)"],
  ["1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13) (Retired)"],
  ["1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", "jpeg"],
  ["1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15) (Retired)"],
  ["1.2.840.10008.1.2.4.59", "JPEG Extended, Hierarchical (Process 16 & 18) (Retired)"],
  ["1.2.840.10008.1.2.4.60", "JPEG Extended, Hierarchical (Process 17 & 19) (Retired)"],
  ["1.2.840.10008.1.2.4.61", "JPEG Spectral Selection, Hierarchical (Process 20 & 22) (Retired)"],
  ["1.2.840.10008.1.2.4.62", "JPEG Spectral Selection, Hierarchical (Process 21 & 23) (Retired)"],
  ["1.2.840.10008.1.2.4.63", "JPEG Full Progression, Hierarchical (Process 24 & 26) (Retired)"],
  ["1.2.840.10008.1.2.4.64", "JPEG Full Progression, Hierarchical (Process 25 & 27) (Retired)"],
  ["1.2.840.10008.1.2.4.65", "JPEG Lossless, Hierarchical (Process 28) (Retired)"],
  ["1.2.840.10008.1.2.4.66", "JPEG Lossless, Hierarchical (Process 29) (Retired)"],
  [
    "1.2.840.10008.1.2.4.70",
    "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
    "jpeg",
  ],
  ["1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression", "jpegls"],
  ["1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", "jpegls", true],
  ["1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", "j2k"],
  ["1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", "j2k", true],
  ["1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"],
  ["1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression"],
  ["1.2.840.10008.1.2.4.94", "JPIP Referenced"],
  ["1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate"],
  ["1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"],
  ["1.2.840.10008.1.2.4.100.1", "Fragmentable MPEG2 Main Profile / Main Level"],
  ["1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"],
  ["1.2.840.10008.1.2.4.101.1", "Fragmentable MPEG2 Main Profile / High Level"],
  ["1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"],
  ["1.2.840.10008.1.2.4.102.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1"],
  ["1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"],
  ["1.2.840.10008.1.2.4.103.1", "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"],
  ["1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"],
  ["1.2.840.10008.1.2.4.104.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"],
  ["1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"],
  ["1.2.840.10008.1.2.4.105.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"],
  ["1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"],
  ["1.2.840.10008.1.2.4.106.1", "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"],
  ["1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1"],
  ["1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1"],
  ["1.2.840.10008.1.2.4.110", "JPEG XL Lossless"],
  ["1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"],
  ["1.2.840.10008.1.2.4.112", "JPEG XL"],
  ["1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", "htj2k"],
  [
    "1.2.840.10008.1.2.4.202",
    "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
    "htj2k",
  ],
  ["1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", "htj2k", true],
  ["1.2.840.10008.1.2.4.204", "JPIP HTJ2K Referenced"],
  ["1.2.840.10008.1.2.4.205", "JPIP HTJ2K Referenced Deflate"],
  [RLE_LOSSLESS, "RLE Lossless", "rle"],
  ["1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation (Retired)"],
  ["1.2.840.10008.1.2.6.2", "XML Encoding (Retired)"],
  ["1.2.840.10008.1.2.7.1", "SMPTE ST 2110-20 Uncompressed Progressive Active Video"],
  ["1.2.840.10008.1.2.7.2", "SMPTE ST 2110-20 Uncompressed Interlaced Active Video"],
  ["1.2.840.10008.1.2.7.3", "SMPTE ST 2110-30 PCM Digital Audio"],
  ["1.2.840.10008.1.2.8.1", "Deflated Image Frame Compression"],
  ["1.2.840.10008.1.20", "Papyrus 3 Implicit VR Little Endian (Retired)"],
];

/** Every standard transfer syntax UID, with its name and whether its pixel data can be decoded. */
export const TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntaxInfo> = new Map(
  TS_TABLE.map(([uid, name, encoding, lossy]) => {
    const info: TransferSyntaxInfo = encoding === undefined
      ? { name, supported: false }
      : lossy
      ? { name, supported: true, encoding, lossy }
      : { name, supported: true, encoding };
    return [uid, info] as const;
  }),
);

/** "Name (UID)", or the UID and a note when it is not a standard syntax. */
export function syntaxLabel(uid: string): string {
  const info = TRANSFER_SYNTAXES.get(uid);
  return info ? `${info.name} (${uid})` : `${uid} (not a standard transfer syntax)`;
}

const NATIVE = new Set([IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE, "1.2.840.10008.1.20"]);

/**
 * Whether the Pixel Data of a syntax is a sequence of fragments (PS3.5 A.4): true for every standard syntax
 * but the native ones, undefined for a UID that is not a standard transfer syntax.
 */
export function isEncapsulated(uid: string): boolean | undefined {
  if (!TRANSFER_SYNTAXES.has(uid)) return undefined;
  return !NATIVE.has(uid);
}

/** Throws UNSUPPORTED_TRANSFER_SYNTAX unless {@link TRANSFER_SYNTAXES} marks `uid` supported. */
export function requireSupportedSyntax(uid: string): PixelEncoding {
  const info = TRANSFER_SYNTAXES.get(uid);
  if (info?.encoding !== undefined) return info.encoding;
  if (info === undefined) {
    throw new DicomDecodeError(
      "UNSUPPORTED_TRANSFER_SYNTAX",
      `Transfer syntax ${uid} is not a standard DICOM transfer syntax (private?) and cannot be decoded. ` +
        `Supported: ${supportedList()}. Convert the file with the vendor's tools or ` +
        "`gdcmconv --raw in.dcm out.dcm`.",
    );
  }
  throw new DicomDecodeError(
    "UNSUPPORTED_TRANSFER_SYNTAX",
    `Transfer syntax ${info.name} (${uid}) is not supported (supported: ${supportedList()}). ` +
      "Convert the file to an uncompressed syntax first, e.g. `gdcmconv --raw in.dcm out.dcm` (GDCM), if " +
      "a toolkit you have can read it.",
  );
}

function supportedList(): string {
  return TS_TABLE.filter((t) => t[2] !== undefined).map((t) => t[1]).join(", ");
}
