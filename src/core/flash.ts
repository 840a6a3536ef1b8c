import { SessionValueError } from './errors.js'
import { defineOwn } from './json-value.js'
import type { Json } from './json.js'

/**
 * The prefix of the data keys that hold flash messages: `flash('notice', …)` is stored under
 * `'~flash:notice'`, inside the record's data, so every store keeps flashes with no change to how it
 * stores data (the cookie store carries them in the cookie). Reads of the data never see these keys,
 * and writes of data refuse them.
 *
 * @example
 * ```ts
 * await store.load(id) // { data: { userId: 'ada', '~flash:notice': 'Saved' }, … }
 * ```
 */
export const FLASH_PREFIX = '~flash:'

const TILDE = 0x7e

/** Whether a data key is one of the flash keys (a cheap first-character test comes first: it is on every load). */
export function isFlashKey(key: string): boolean {
  return key.charCodeAt(0) === TILDE && key.startsWith(FLASH_PREFIX)
}

/** Throws when a data write names a flash key: those belong to `flash()` and `takeFlash()`. */
export function refuseFlashKey(key: string): void {
  if (isFlashKey(key)) {
    throw new SessionValueError(key, `cloakroom: keys starting with ${FLASH_PREFIX} hold flash messages; use session.flash(key, value) and session.takeFlash(key)`)
  }
}

/**
 * Splits the flash keys out of a stored record's data (for the data rules, which must not see them):
 * the data without them and the flash keys with their values, or `undefined` when the data holds
 * none. `data` is copied, never changed (a store may hand back an object it keeps).
 *
 * @example
 * ```ts
 * splitFlashes({ a: 1, '~flash:notice': 'Saved' }) // { data: { a: 1 }, flashes: { '~flash:notice': 'Saved' } }
 * ```
 */
export function splitFlashes(data: Record<string, Json>): { data: Record<string, Json>; flashes: Record<string, Json> } | undefined {
  let found = false
  for (const key in data) {
    if (isFlashKey(key)) {
      found = true
      break
    }
  }
  if (!found) return undefined
  const rest: Record<string, Json> = {}
  const flashes: Record<string, Json> = {}
  for (const key of Object.keys(data)) defineOwn(isFlashKey(key) ? flashes : rest, key, data[key] as Json)
  return { data: rest, flashes }
}

/**
 * Removes the flash keys from a copy of the data (what `entries()` hands out), in place.
 *
 * @example
 * ```ts
 * withoutFlashes({ a: 1, '~flash:notice': 'Saved' }) // { a: 1 }
 * ```
 */
export function withoutFlashes(copy: Record<string, Json>): Record<string, Json> {
  for (const key in copy) if (isFlashKey(key)) delete copy[key]
  return copy
}
