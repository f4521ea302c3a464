import assert from "node:assert/strict";
import { indexInSorted } from "../core/sorted.ts";

Deno.test("indexInSorted finds every element of sorted lists, nothing else, and honours `from`", () => {
  const numbers = [1, 3, 4, 9, 12, 40];
  numbers.forEach((n, i) => assert.equal(indexInSorted(numbers, n), i));
  for (const absent of [0, 2, 10, 41]) assert.equal(indexInSorted(numbers, absent), -1);
  assert.equal(indexInSorted(numbers, 3, 2), -1, "before `from`: not found");
  assert.equal(indexInSorted(numbers, 12, 2), 4);
  const names = ["a", "a.dcm", "b", "x", "x.DCM", "x.dcm"];
  names.forEach((n, i) => assert.equal(indexInSorted(names, n), i));
  assert.equal(indexInSorted(names, "x.d"), -1);
  assert.equal(indexInSorted([], "a"), -1);
});
