/**
 * Runs code with one of the DICOM reader's switches (dicom/dcmjs.ts's `useNativeReader`,
 * `useNativeNaturalizer`, `useLateNaming`) off, to compare a fast path with the path it replaces.
 *
 * @module
 */

/** Runs `fn` with the switch `use` turns off, then turns it on again (also when `fn` throws). */
export function switchedOff<T>(use: (on: boolean) => void, fn: () => T): T {
  use(false);
  try {
    return fn();
  } finally {
    use(true);
  }
}
