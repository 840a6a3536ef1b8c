import { defineOwn } from './json-value.js'
import type { Json } from './json.js'
import type { ChangeSet } from './store.js'

/**
 * Applies a request's change set to a session's data: `clear` first, then `remove`, then `set`.
 * Values in `set` replace whole values (no deep merge), and `null` is stored as a value, not taken
 * as a removal. Returns a new object and never mutates `data` or `changes`; the values themselves
 * are shared, not deep-copied, so a store that keeps the result must serialize it.
 *
 * Keys are written as own data properties, so a key named `__proto__` is kept as a key and never
 * reaches a prototype.
 *
 * @example
 * ```ts
 * applyChanges({ a: { x: 1, y: 2 }, b: 1 }, { clear: false, remove: ['b'], set: { a: { x: 3 } } })
 * // → { a: { x: 3 } }
 * ```
 */
export function applyChanges(data: Readonly<Record<string, Json>>, changes: ChangeSet): Record<string, Json> {
  const result: Record<string, Json> = {}
  if (!changes.clear) {
    for (const key of Object.keys(data)) defineOwn(result, key, data[key] as Json)
  }
  // `delete` only ever touches own properties, so removing '__proto__' cannot reach Object.prototype.
  for (const key of changes.remove) delete result[key]
  for (const key of Object.keys(changes.set)) defineOwn(result, key, changes.set[key] as Json)
  return result
}
