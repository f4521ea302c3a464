/**
 * Resource limits on what a header may make the reader do: how deep sequences nest, how many items and
 * elements a header holds, how far a deflated data set may inflate, and how large a decoded image may be.
 * A file over a limit is refused with a coded error before the work (or the memory) is spent, so one hostile
 * file cannot take a batch down. The defaults are far above what real images need.
 *
 * @module
 */

/** The limits (see {@link DEFAULT_LIMITS}). */
export interface DecodeLimits {
  /** Sequences nested deeper than this (defined and undefined lengths alike). */
  readonly maxDepth: number;
  /** Sequence items in the whole header (every level). */
  readonly maxItems: number;
  /** Data elements in the whole header (every level). */
  readonly maxElements: number;
  /** Bytes a deflated data set may inflate to beyond what its header says the pixel data needs. */
  readonly inflateSlack: number;
  /** Bytes a deflated data set's header (everything before the pixel data) may inflate to. */
  readonly maxInflatedHeader: number;
  /**
   * How many times the compressed bytes read so far a deflated data set may inflate to, once past
   * {@link inflateRatioFloor} (real images inflate 1 to 10 times; a decompression bomb about 1000 times).
   */
  readonly maxInflateRatio: number;
  /** Bytes a deflated data set may inflate to whatever its ratio (a small, nearly blank image). */
  readonly inflateRatioFloor: number;
  /** Stored values of a decoded image (frames x samples x rows x columns); 4 bytes each as float32. */
  readonly maxDecodedValues: number;
}

/**
 * The defaults: 64 levels, 100,000 items, 250,000 elements (the attribute reader spends about 10 us and
 * 1 KB per element, so a header at the limit costs about 2.5 s and 300 MB; an enhanced multi-frame header
 * with per-frame functional groups for a few thousand frames stays well below it), 16 MiB of inflated
 * header, 1 MiB of inflation beyond the pixel data, inflation by at most 100 times past 4 MiB (a
 * decompression bomb is refused after 4 MiB of work), and 2^29 decoded values (2 GiB as float32).
 */
export const DEFAULT_LIMITS: DecodeLimits = {
  maxDepth: 64,
  maxItems: 100_000,
  maxElements: 250_000,
  inflateSlack: 1 << 20,
  maxInflatedHeader: 16 << 20,
  maxInflateRatio: 100,
  inflateRatioFloor: 4 << 20,
  maxDecodedValues: 2 ** 29,
};
