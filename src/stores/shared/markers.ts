import { EXPIRED, GONE, RENEWED } from '../../core/store.js'
import type { Missing } from '../../core/store.js'

/**
 * The `forward_to` of a purge marker in the SQL stores. A row with `forward_to` set is a marker and
 * never loads: the successor's storage key (43 base64url characters) for `renew`'s forwarding
 * marker, this empty string for `delete`'s purge marker. Reusing the column rather than adding one
 * keeps the table as it was, so instances of an older release sharing it never take a purge marker
 * for a live session (their `forward_to IS NULL` test already excludes it) and need no migration.
 *
 * @example
 * ```ts
 * const purged = row.forward_to === PURGED
 * ```
 */
export const PURGED = ''

/**
 * Why a write found no live row, from the `forward_to` of the key's unexpired marker row (`null` or
 * `undefined` when there is none): `GONE` for a purge marker, `RENEWED` for a forwarding marker,
 * `EXPIRED` otherwise.
 *
 * @example
 * ```ts
 * return applied ? id : missingFrom(row?.forward_to)
 * ```
 */
export function missingFrom(forwardTo: unknown): Missing {
  if (forwardTo === PURGED) return GONE
  return typeof forwardTo === 'string' ? RENEWED : EXPIRED
}
