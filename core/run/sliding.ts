/**
 * A list addressed by position in a run (0, 1, 2, ... from the run's start) that lets go of its front as the
 * run moves past it: the run's rounds (cpu_run.ts) and the recorder's order of inputs (recorder.ts).
 *
 * @module
 */
import { indexInSorted } from "../sorted.ts";

/**
 * Items at positions `start` to `end - 1`. {@link dropBefore} lets go of the front a block at a time: the
 * rest is copied once the part let go is at least `minDrop` items and at least half the list, so each item
 * is copied a bounded number of times and the memory held is about what is still ahead (a shift per item
 * would move the whole list each time; never dropping would hold a run of 100,000 inputs whole).
 */
export class SlidingList<T> {
  #items: T[];
  #start = 0;

  /** @param items the first items, from position 0 (taken over, not copied) */
  constructor(readonly minDrop: number, items: T[] = []) {
    this.#items = items;
  }

  /** The first position held. */
  get start(): number {
    return this.#start;
  }

  /** One past the last position. */
  get end(): number {
    return this.#start + this.#items.length;
  }

  /** Appends an item at position {@link end}. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** The item at `position` (undefined outside `start` to `end - 1`). */
  at(position: number): T | undefined {
    return position < this.#start ? undefined : this.#items[position - this.#start];
  }

  /** Replaces the item at `position`, which must be held. */
  set(position: number, item: T): void {
    if (position < this.#start || position >= this.end) {
      throw new RangeError(`position ${position} is not held (${this.#start} to ${this.end - 1})`);
    }
    this.#items[position - this.#start] = item;
  }

  /** The positions before `position` are not read again (see the class doc for when they are let go). */
  dropBefore(position: number): void {
    const done = position - this.#start;
    if (done < this.minDrop || done * 2 < this.#items.length) return;
    this.#items = this.#items.slice(done);
    this.#start = position;
  }

  /** Where `value` is, searching from `from` on (the items ascending from there), or -1. */
  positionOfSorted(this: SlidingList<number>, value: number, from: number): number {
    const found = indexInSorted(this.#items, value, Math.max(from - this.#start, 0));
    return found < 0 ? -1 : found + this.#start;
  }

  /** Where `value` first is from `from` on (any order), or -1. */
  positionOf(value: T, from: number): number {
    const found = this.#items.indexOf(value, Math.max(from - this.#start, 0));
    return found < 0 ? -1 : found + this.#start;
  }

  /** The items from `from` to the end, in order. */
  *from(from: number): Generator<T, void, undefined> {
    for (let p = Math.max(from, this.#start); p < this.end; p++) yield this.#items[p - this.#start];
  }
}
