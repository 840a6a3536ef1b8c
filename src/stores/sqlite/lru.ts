/**
 * A small least-recently-used map. The store's dynamic SQL varies with the shape of a change set,
 * so its prepared statements are kept here: hot shapes stay prepared, rare ones cannot pile up.
 */
export class Lru<K, V> {
  readonly #max: number
  readonly #entries = new Map<K, V>()

  constructor(max: number) {
    this.#max = max
  }

  /** How many entries are held now. */
  get size(): number {
    return this.#entries.size
  }

  /** The value, marked as most recently used, or `undefined`. */
  get(key: K): V | undefined {
    const value = this.#entries.get(key)
    if (value === undefined) return undefined
    // Map keeps insertion order: re-inserting moves the key to the young end.
    this.#entries.delete(key)
    this.#entries.set(key, value)
    return value
  }

  /** Stores the value, evicting the least recently used entry when over capacity. */
  set(key: K, value: V): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.#max) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
  }
}
