import assert from "node:assert/strict";
import { SlidingList } from "../core/run/sliding.ts";

Deno.test("SlidingList: items by run position, the front let go only in blocks of at least minDrop and half", () => {
  const list = new SlidingList<string>(4);
  for (let i = 0; i < 10; i++) list.push(`item ${i}`);
  assert.deepEqual([list.start, list.end], [0, 10]);

  list.dropBefore(3); // fewer than minDrop: kept
  assert.equal(list.start, 0);
  assert.equal(list.at(0), "item 0");
  list.dropBefore(4); // 4 of 10: not half yet
  assert.equal(list.start, 0);
  list.dropBefore(5); // 5 of 10: let go
  assert.deepEqual([list.start, list.end], [5, 10]);
  assert.equal(list.at(4), undefined, "a position let go reads as nothing");
  assert.equal(list.at(5), "item 5");
  assert.equal(list.at(9), "item 9");
  assert.equal(list.at(10), undefined);

  list.push("item 10");
  list.set(10, "ten");
  assert.equal(list.at(10), "ten");
  assert.throws(() => list.set(4, "gone"), RangeError);
  assert.throws(() => list.set(11, "not yet"), RangeError);
  assert.deepEqual([...list.from(8)], ["item 8", "item 9", "ten"]);
  assert.deepEqual([...list.from(0)], ["item 5", "item 6", "item 7", "item 8", "item 9", "ten"]);
});

Deno.test("SlidingList: positions found by binary search or scan are run positions, after the front is let go", () => {
  const list = new SlidingList<number>(2, [10, 20, 30, 40, 50, 60, 70]);
  list.dropBefore(4);
  assert.equal(list.start, 4);
  assert.equal(list.positionOfSorted(60, 4), 5);
  assert.equal(list.positionOfSorted(60, 6), -1, "before `from`: not found");
  assert.equal(list.positionOfSorted(20, 0), -1, "let go: not found");
  assert.equal(list.positionOf(70, 0), 6);
  assert.equal(list.positionOf(40, 0), -1);
});

Deno.test("SlidingList: a long run through it holds about what is still ahead", () => {
  const list = new SlidingList<number>(64);
  let maxHeld = 0;
  for (let i = 0; i < 100_000; i++) {
    list.push(i);
    if (i >= 100) list.dropBefore(i - 100); // 100 positions behind the newest are still read
    maxHeld = Math.max(maxHeld, list.end - list.start);
    assert.equal(list.at(i), i);
  }
  assert.ok(maxHeld <= 2 * 164 + 1, `held at most ${maxHeld} items`);
});
