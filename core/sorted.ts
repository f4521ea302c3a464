/**
 * Binary search in a sorted list (strings or numbers, ascending by `<`).
 *
 * @module
 */

/** Where `value` is in `sorted[from..]` (ascending), or -1 when it is not there. */
export const indexInSorted = <T extends string | number>(
  sorted: ArrayLike<T>,
  value: T,
  from = 0,
): number => {
  let lo = from;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] === value) return mid;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
};
