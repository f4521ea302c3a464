/**
 * `ImageMeta.dataset` made when first read: buildMeta (header.ts) defines it as an accessor of the meta object
 * ({@link defineLazyDataset}), which makes the data set once, then leaves it there as the plain data property
 * it always was (where the object can still be changed). Reading it, spreading or copying the meta,
 * `JSON.stringify` and structured cloning all see the same keys, order and values as before; a run whose
 * stages never read it never names the whole data set (dcmjs.ts's `readHeaderAttributes`).
 *
 * A spread of the meta (`{ ...meta, codec }`) reads it, so dcmflow's own copies use {@link metaWith}, which
 * copies the accessor instead (the copy and the original share the one data set made for both).
 *
 * The accessor's functions are the same for every meta, and what makes the data set is kept in a private
 * field of the meta object ({@link LazyState}): V8 keeps an accessor's functions in the object's hidden class,
 * so a closure per meta there (or an entry per meta in a WeakMap) would keep each file's attributes alive
 * past the young generation's collections, which costs more than naming them.
 *
 * @module
 */

type Dataset = Readonly<Record<string, unknown>>;

/**
 * How a meta's data set is made, the data set once made, and the attributes dcmflow reads as they were named
 * when the file was read (shared by a meta and its copies).
 */
interface Lazy {
  made?: Dataset;
  readonly make: () => Dataset;
  readonly read: Dataset;
}

/** A constructor that returns the object it is given, so that a subclass adds its fields to that object. */
class Given {
  constructor(o: object) {
    return o;
  }
}

/** The private field that holds a meta's {@link Lazy}, added to the plain meta object (not a prototype). */
class LazyState extends Given {
  #lazy: Lazy;

  private constructor(meta: object, lazy: Lazy) {
    super(meta);
    this.#lazy = lazy;
  }

  /** Gives `meta` (a fresh object) its state. */
  static attach(meta: object, lazy: Lazy): void {
    new LazyState(meta, lazy);
  }

  /** The state of `o`, where it has one. */
  static of(o: object): Lazy | undefined {
    return #lazy in o ? (o as LazyState).#lazy : undefined;
  }
}

/**
 * The accessor's getter: makes the data set once, then leaves it on the object as a data property. An object
 * given the accessor otherwise than by {@link defineLazyDataset} or {@link metaWith} (a copy of the meta's
 * property descriptors, before `dataset` was read) has no state, and reads undefined there.
 */
function get(this: object): Dataset | undefined {
  const lazy = LazyState.of(this);
  if (lazy === undefined) return undefined;
  const made = lazy.made ??= lazy.make();
  try {
    Object.defineProperty(this, "dataset", plainProperty(made));
  } catch {
    // sealed or frozen by its user: the accessor stays, and goes on giving the one data set
  }
  return made;
}

/** The accessor's setter: the value given becomes the data property, as it would on a plain object. */
function set(this: object, value: unknown): void {
  Object.defineProperty(this, "dataset", plainProperty(value));
}

const ACCESSOR: PropertyDescriptor = { get, set, enumerable: true, configurable: true };

const plainProperty = (value: unknown): PropertyDescriptor => ({
  value,
  writable: true,
  enumerable: true,
  configurable: true,
});

/**
 * Defines `dataset` on `meta` (a fresh object; an own property, last for now) as made by `make` when first
 * read; `read` holds what the data set has under keywords.ts's READ_KEYWORDS (see {@link readAttributesOf}).
 */
export function defineLazyDataset(meta: object, make: () => Dataset, read: Dataset): void {
  LazyState.attach(meta, { make, read });
  Object.defineProperty(meta, "dataset", ACCESSOR);
}

/**
 * What `meta.dataset` has under keywords.ts's READ_KEYWORDS (and possibly more), without naming the whole
 * data set where it is not named yet: while `dataset` is still the accessor nobody has read or replaced it,
 * so the attributes named when the file was read are what it would give; otherwise `meta.dataset` itself.
 */
export function readAttributesOf(meta: { readonly dataset: Dataset }): Dataset {
  const lazy = Object.getOwnPropertyDescriptor(meta, "dataset")?.get === get ? LazyState.of(meta) : undefined;
  return lazy?.read ?? meta.dataset;
}

/**
 * `{ ...meta, ...changes }` without reading a `dataset` not made yet: the same keys in the same order, the
 * data set still made when first read (from either object).
 */
export function metaWith<T extends object>(meta: T, changes: Partial<T>): T {
  const lazy = Object.getOwnPropertyDescriptor(meta, "dataset")?.get === get ? LazyState.of(meta) : undefined;
  if (lazy === undefined) return { ...meta, ...changes };
  const copy: Record<PropertyKey, unknown> = {};
  LazyState.attach(copy, lazy);
  const from = meta as Record<PropertyKey, unknown>;
  // what a spread copies: the enumerable own string keys in order, then the enumerable own symbols
  for (const key of Object.keys(from)) {
    if (key === "dataset") Object.defineProperty(copy, key, ACCESSOR);
    else copy[key] = from[key];
  }
  for (const symbol of Object.getOwnPropertySymbols(from)) {
    if (Object.prototype.propertyIsEnumerable.call(from, symbol)) copy[symbol] = from[symbol];
  }
  return Object.assign(copy, changes) as T;
}
