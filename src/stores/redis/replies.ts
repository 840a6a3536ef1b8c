import { StoreError } from '../../core/errors.js'
import { EXPIRED, GONE, RENEWED } from '../../core/store.js'
import type { Missing } from '../../core/store.js'
import { HASH_CHARS, REPLY } from './scripts.js'

const HASH_PATTERN = new RegExp(`^[A-Za-z0-9_-]{${HASH_CHARS}}$`)

function unexpected(operation: string): StoreError {
  // The reply itself is left out: it could hold a key, and keys are derived from session ids.
  return new StoreError('backend', `redis ${operation} got a reply its script never gives; is another version of cloakroom sharing the prefix?`)
}

/**
 * What the `apply`, `touch` and `renew` scripts answered: `'live'` (done) or, without a live record,
 * why: `GONE` (purge marker), `RENEWED` (forwarding marker) or `EXPIRED` (nothing of ours). Renew
 * looks for its `TAKEN` reply before calling this.
 *
 * @example
 * ```ts
 * const outcome = writeOutcome(await run(APPLY, [key], args), 'apply')
 * return outcome === 'live' ? id : outcome
 * ```
 */
export function writeOutcome(reply: unknown, operation: string): 'live' | Missing {
  switch (Number(reply)) {
    case REPLY.LIVE:
      return 'live'
    case REPLY.PURGED:
      return GONE
    case REPLY.FORWARDED:
      return RENEWED
    case REPLY.MISSING:
      return EXPIRED
    default:
      throw unexpected(operation)
  }
}

/**
 * What one call of the `delete` script answered: `null` when it ended the chain it was given, or
 * the next hop: keep the first `index` keys and add the key ending in `hash`.
 *
 * @example
 * ```ts
 * const next = deleteStep(await run(DELETE, chain, []), chain.length)
 * if (next) chain.splice(next.index, Infinity, keyOfHash(prefix, tag, next.hash))
 * ```
 */
export function deleteStep(reply: unknown, keys: number): { index: number; hash: string } | null {
  if (!Array.isArray(reply)) {
    if (Number(reply) === REPLY.LIVE) return null
    throw unexpected('delete')
  }
  const [index, hash] = reply as unknown[]
  const at = Number(index)
  if (!Number.isInteger(at) || at < 1 || at > keys || typeof hash !== 'string' || !HASH_PATTERN.test(hash)) {
    throw unexpected('delete')
  }
  return { index: at, hash }
}
