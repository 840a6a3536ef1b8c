import { generateSessionKey } from '../../actix/session-key.js'
import { decodeState, encodeState } from '../../actix/state.js'
import { applyChanges } from '../../core/change-set.js'
import { StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import { EXPIRED, GONE } from '../../core/store.js'
import type { ChangeSet, Expired, Missing, SessionRecord, SessionStore } from '../../core/store.js'
import type { RedisCommander } from './client.js'
import { isWrongType, withDeadline } from './errors.js'
import type { Deadline } from './errors.js'
import { send } from './send.js'

// A key carries about 381 random bits; the bound only keeps a broken random source from looping.
const MAX_KEY_ATTEMPTS = 5

function encode(data: Record<string, Json>): string {
  try {
    return encodeState(data)
  } catch (error) {
    throw new StoreError('encode', 'session data could not be serialized as JSON', { cause: error })
  }
}

/** actix-session writes `EX ttl.whole_seconds()`; Redis refuses `EX 0`, so a sub-second TTL is one second. */
function seconds(ttlMs: number): string {
  return String(Math.max(1, Math.floor(ttlMs / 1000)))
}

/**
 * RedisStore as actix-session's `RedisSessionStore` works, with its exact commands: a session is one
 * string at `prefix + key` (the 64-character session key, no prefix by default) holding the
 * actix-session 0.11 JSON state, with Redis' TTL as its only expiry.
 *
 * - `load`: `GET`. A value that does not parse is an empty session under the same key (as
 *   actix-session keeps the key of a state it cannot deserialize).
 * - `create`: `SET key state NX EX ttl` under a new key (a new key again if NX refuses, which
 *   actix-session does not check).
 * - `apply`: `GET`, then `SET key state XX EX ttl`. No value at `GET`: `EXPIRED` (the manager starts
 *   a new session, as actix-session's fallback to `save` does). A value at `GET` gone at `SET`: it was
 *   deleted meanwhile, most likely by a logout, so `GONE` (the write is dropped): purge wins where
 *   actix-session would bring the state back under a new key.
 * - `renew`: `GET`, `DEL`, then `SET … NX EX` under a new key, as actix-session's delete then save.
 * - `touch`: `EXPIRE key ttl` (a missing key: `EXPIRED`).
 * - `delete`: `DEL`.
 *
 * `GET`/`SET` is not atomic, exactly as in actix-session: the last writer wins. There are no
 * purge or renew markers (actix-session's commands leave none), so a request racing a renew finds
 * no record.
 *
 * @example
 * ```ts
 * const manager = createSessionManager({ store: new RedisStore({ client }), keys: [key64], actixSession: { key: 'raw' } })
 * ```
 */
export class ActixRedisStore implements SessionStore {
  readonly canInvalidate = true
  readonly #redis: RedisCommander
  readonly #prefix: string
  readonly #timeoutMs: number

  constructor(redis: RedisCommander, prefix: string, timeoutMs: number) {
    this.#redis = redis
    this.#prefix = prefix
    this.#timeoutMs = timeoutMs
  }

  async load(id: string): Promise<SessionRecord | null> {
    const key = this.#prefix + id
    const state = await this.#call('load', (remaining) => this.#get(key, remaining))
    if (state === null) return null
    return { data: decodeState(state) ?? {}, createdAt: Date.now(), absoluteExpiresAt: null }
  }

  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    const body = encode(record.data)
    return this.#call('create', (remaining) => this.#save(body, ttlMs, remaining))
  }

  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const key = this.#prefix + id
    return this.#call('apply', async (remaining) => {
      const state = await this.#get(key, remaining)
      if (state === null) return EXPIRED
      const body = encode(applyChanges(decodeState(state) ?? {}, changes))
      const reply = await send(this.#redis, 'SET', [key, body, 'XX', 'EX', seconds(ttlMs)], key, false, remaining)
      return reply === null ? GONE : id
    })
  }

  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Expired> {
    const key = this.#prefix + id
    return this.#call('renew', async (remaining) => {
      const state = await this.#get(key, remaining)
      if (state === null) return EXPIRED
      const body = encode(applyChanges(decodeState(state) ?? {}, changes))
      await send(this.#redis, 'DEL', [key], key, false, remaining)
      return this.#save(body, ttlMs, remaining)
    })
  }

  async touch(id: string, ttlMs: number): Promise<string | Expired> {
    const key = this.#prefix + id
    const reply = await this.#call('touch', (remaining) => send(this.#redis, 'EXPIRE', [key, seconds(ttlMs)], key, false, remaining))
    return Number(reply) === 1 ? id : EXPIRED
  }

  async delete(id: string): Promise<void> {
    const key = this.#prefix + id
    await this.#call('delete', (remaining) => send(this.#redis, 'DEL', [key], key, false, remaining))
  }

  #call<T>(operation: string, work: (remaining: Deadline) => Promise<T>): Promise<T> {
    return withDeadline(this.#redis, this.#timeoutMs, operation, work)
  }

  async #get(key: string, remaining: Deadline): Promise<string | null> {
    try {
      const reply = await send(this.#redis, 'GET', [key], key, true, remaining)
      return typeof reply === 'string' ? reply : reply instanceof Uint8Array ? new TextDecoder().decode(reply) : null
    } catch (error) {
      // Something that is not a string sits under the key: not a session actix-session wrote.
      if (error instanceof StoreError ? isWrongType(error.cause) : isWrongType(error)) return null
      throw error
    }
  }

  async #save(body: string, ttlMs: number, remaining: Deadline): Promise<string> {
    for (let attempt = 0; attempt < MAX_KEY_ATTEMPTS; attempt++) {
      const id = generateSessionKey()
      const key = this.#prefix + id
      const reply = await send(this.#redis, 'SET', [key, body, 'NX', 'EX', seconds(ttlMs)], key, false, remaining)
      if (reply !== null) return id
    }
    throw new StoreError('backend', `redis refused ${MAX_KEY_ATTEMPTS} new session keys in a row (SET NX); is the random source broken?`)
  }
}
