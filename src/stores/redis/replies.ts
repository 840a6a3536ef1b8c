import { StoreError } from '../../core/errors.js'
import { EXPIRED, GONE, RENEWED } from '../../core/store.js'
import type { Missing } from '../../core/store.js'
import { HASH_CHARS, REPLY } from './scripts.js'

const HASH_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${HASH_CHARS}}$`)

function unexpected(operation: string): StoreError {
  // The reply itself is left out: it could hold a key, and keys are derived from session ids.
  return new StoreError('backend', `redis ${operation} got a reply its script never gives; is another version of cloakroom sharing the prefix?`)
}

/** A session's filing as the scripts report it: the user it is filed under and its handle. */
export interface Filing {
  readonly userId: string
  readonly handle: string
}

/** How a write changed a session's filing: before and after (`null`: not filed). */
export interface FilingChange {
  readonly before: Filing | null
  readonly after: Filing | null
}

function filingAt(reply: readonly unknown[], at: number, operation: string): Filing | null {
  const userId = reply[at]
  const handle = reply[at + 1]
  if (userId === null || userId === undefined || userId === false) return null
  if (typeof userId !== 'string' || typeof handle !== 'string') throw unexpected(operation)
  return { userId, handle }
}

/**
 * What the `apply`, `touch` and `renew` scripts answered: `'live'` (done) or, without a live record,
 * why: `GONE` (purge marker), `RENEWED` (forwarding marker) or `EXPIRED` (nothing of ours). Renew
 * looks for its `TAKEN` reply before calling this. `filing` is there when the script reported the
 * session's filing (apply: it changed; renew: it is filed before or after).
 *
 * @example
 * ```ts
 * const { outcome, filing } = writeReply(await run(APPLY, [key], args), 'apply')
 * ```
 */
export function writeReply(reply: unknown, operation: string): { outcome: 'live' | Missing; filing?: FilingChange } {
  if (Array.isArray(reply)) {
    if (reply.length !== 5 || Number(reply[0]) !== REPLY.LIVE) throw unexpected(operation)
    return { outcome: 'live', filing: { before: filingAt(reply, 1, operation), after: filingAt(reply, 3, operation) } }
  }
  switch (Number(reply)) {
    case REPLY.LIVE:
      return { outcome: 'live' }
    case REPLY.PURGED:
      return { outcome: GONE }
    case REPLY.FORWARDED:
      return { outcome: RENEWED }
    case REPLY.MISSING:
      return { outcome: EXPIRED }
    default:
      throw unexpected(operation)
  }
}

/**
 * What one call of the `delete` script answered: `follow` (keep the first `index` keys and add the
 * key ending in `hash`), `ended` (the chain is ended; `filed` is the ended record's filing, if any),
 * or `refused` (a revoke found the record gone or not filed as expected, and changed nothing).
 *
 * @example
 * ```ts
 * const step = deleteStep(await run(DELETE, chain, []), chain.length)
 * if (step.kind === 'follow') chain.splice(step.index, Infinity, keyOfHash(prefix, tag, step.hash))
 * ```
 */
export function deleteStep(
  reply: unknown,
  keys: number,
): { kind: 'follow'; index: number; hash: string } | { kind: 'ended'; filed: Filing | null } | { kind: 'refused' } {
  if (!Array.isArray(reply)) {
    if (Number(reply) === REPLY.LIVE) return { kind: 'ended', filed: null }
    if (Number(reply) === REPLY.MISSING) return { kind: 'refused' }
    throw unexpected('delete')
  }
  if (reply[0] === 'filed') {
    const filed = filingAt(reply, 1, 'delete')
    if (filed === null) throw unexpected('delete')
    return { kind: 'ended', filed }
  }
  const [index, hash] = reply as unknown[]
  const at = Number(index)
  if (!Number.isInteger(at) || at < 1 || at > keys || typeof hash !== 'string' || !HASH_PATTERN.test(hash)) {
    throw unexpected('delete')
  }
  return { kind: 'follow', index: at, hash }
}
