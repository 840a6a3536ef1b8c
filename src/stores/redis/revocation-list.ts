import { StoreError } from '../../core/errors.js'
import type { RevocationList, RevocationMark } from '../../core/revocation.js'
import type { RedisCommander } from './client.js'
import { ttlArg } from './codec.js'
import { isWrongType, withDeadline } from './errors.js'
import { revocationKey } from './keys.js'
import { send } from './send.js'

/** A stored mark, as JSON: `{"b":before}` or `{"b":before,"x":except}`. */
interface StoredMark {
  b: number
  x?: string
}

function decodeMark(text: unknown): RevocationMark | null {
  if (typeof text !== 'string') return null
  let stored: Partial<StoredMark>
  try {
    stored = JSON.parse(text) as Partial<StoredMark>
  } catch {
    return null
  }
  // Something we did not write under our key is no mark: reading it as one could revoke at random.
  if (stored === null || typeof stored !== 'object' || typeof stored.b !== 'number' || !Number.isFinite(stored.b)) return null
  if (stored.x !== undefined && typeof stored.x !== 'string') return null
  return stored.x === undefined ? { before: stored.b } : { before: stored.b, except: stored.x }
}

/**
 * A {@link RevocationList} on Redis: one small string key per user, `<prefix>r:{<sha256(userId)>}`,
 * holding the mark as JSON and living as long as `set` asks (`PX`), or for good with `ttlMs: null`.
 * One GET per `get`, one SET per `set`, each within `timeoutMs`.
 *
 * @internal
 */
export function redisRevocationList(redis: RedisCommander, prefix: string, timeoutMs: number): RevocationList {
  return {
    async get(userId) {
      const key = revocationKey(prefix, userId)
      try {
        const text = await withDeadline(redis, timeoutMs, 'revocation get', (remaining) => send(redis, 'GET', [key], key, false, remaining))
        return decodeMark(text)
      } catch (error) {
        // A value of another type under our key is not ours: no mark.
        if (error instanceof StoreError && isWrongType(error.cause)) return null
        throw error
      }
    },
    async set(userId, mark, ttlMs) {
      if (!Number.isFinite(mark.before)) throw new StoreError('encode', 'a revocation mark needs a finite `before` (epoch ms)')
      if (mark.except !== undefined && typeof mark.except !== 'string') throw new StoreError('encode', 'a revocation mark\'s `except` must be a handle (a string)')
      const stored: StoredMark = mark.except === undefined ? { b: mark.before } : { b: mark.before, x: mark.except }
      const key = revocationKey(prefix, userId)
      const args = [key, JSON.stringify(stored), ...(ttlMs === null ? [] : ['PX', ttlArg(ttlMs)])]
      await withDeadline(redis, timeoutMs, 'revocation set', (remaining) => send(redis, 'SET', args, key, false, remaining))
    },
  }
}
