import { ConfigError, StoreError } from '../../core/errors.js'
import { GONE } from '../../core/store.js'
import type { ChangeSet, Gone, SessionRecord, SessionStore } from '../../core/store.js'
import { toCommander } from './client.js'
import type { RedisClientLike, RedisCommander } from './client.js'
import { changeArgs, dataArgs, decodeRecord, ttlArg } from './codec.js'
import { isNoScript, isWrongType, withDeadline } from './errors.js'
import { newSessionId, redisKey, tagOf } from './keys.js'
import { APPLY, CREATE, DELETE, RENEW, TOUCH } from './scripts.js'
import type { Script } from './scripts.js'

/**
 * Options of {@link RedisStore}.
 *
 * @example
 * ```ts
 * const options: RedisStoreOptions = { client, prefix: 'myapp:sess:', timeoutMs: 1000 }
 * ```
 */
export interface RedisStoreOptions {
  /** A connected node-redis client or cluster, or an ioredis `Redis` or `Cluster`. */
  client: RedisClientLike
  /** Prepended to every key (default `'cloakroom:'`). */
  prefix?: string
  /** Bound on every store call, in ms (default 2000); past it the call rejects with `StoreError('timeout')`. */
  timeoutMs?: number
}

// Ids carry 256 random bits, so a collision is not expected in the life of the universe; the
// bound only keeps a broken random source from looping forever.
const MAX_ID_ATTEMPTS = 5

/**
 * A session store on Redis (standalone or Cluster), one hash per session. `load` is one HGETALL;
 * `create`, `apply`, `renew`, `touch` and `delete` are one Lua script each (EVALSHA, with EVAL when
 * the server answers NOSCRIPT). Expiry is Redis' own TTL, computed from the server's clock and capped
 * at the record's absolute expiry.
 *
 * @example
 * ```ts
 * import { createClient } from 'redis'
 * import { RedisStore } from 'cloakroom/redis'
 *
 * const client = await createClient({ url: process.env.REDIS_URL }).on('error', console.error).connect()
 * const store = new RedisStore({ client, prefix: 'myapp:' })
 * const manager = createSessionManager({ store, keys: [process.env.SESSION_KEY!] })
 * ```
 */
export class RedisStore implements SessionStore {
  readonly canInvalidate = true
  /** The key prefix in use. */
  readonly prefix: string
  /** The bound on every call, in ms. */
  readonly timeoutMs: number
  readonly #redis: RedisCommander

  constructor(options: RedisStoreOptions) {
    const { client, prefix = 'cloakroom:', timeoutMs = 2000 } = options
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError(`RedisStore timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`)
    }
    if (prefix.includes('{') || prefix.includes('}')) {
      // A brace in the prefix would become the Cluster hash tag instead of the session's lineage tag.
      throw new ConfigError('RedisStore prefix must not contain "{" or "}": the session key carries its own hash tag')
    }
    this.#redis = toCommander(client)
    this.prefix = prefix
    this.timeoutMs = timeoutMs
  }

  /**
   * Mints a new id; renew passes the old id's tag. Protected so a test can force a collision.
   */
  protected newId(tag?: string): string {
    return newSessionId(tag)
  }

  /** One HGETALL. Absent, expired, renewed-away (a forwarding marker) or unreadable → `null`. */
  async load(id: string): Promise<SessionRecord | null> {
    const tag = tagOf(id)
    if (tag === null) return null
    const key = redisKey(this.prefix, id, tag)
    try {
      const reply = await withDeadline(this.#redis, this.timeoutMs, 'load', (remaining) =>
        this.#redis.send('HGETALL', [key], key, true, remaining()),
      )
      return decodeRecord(reply)
    } catch (error) {
      // Something that is not a hash sits under our key: not ours, so no session.
      if (error instanceof StoreError && isWrongType(error.cause)) return null
      throw error
    }
  }

  /** One script that refuses an existing key; on that (astronomically rare) refusal it retries with a new id. */
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    const args = [
      ttlArg(ttlMs),
      String(record.createdAt),
      record.absoluteExpiresAt === null ? '' : String(record.absoluteExpiresAt),
      ...dataArgs(record.data),
    ]
    for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
      const id = this.newId()
      const key = redisKey(this.prefix, id, tagOf(id) as string)
      if ((await this.#run(CREATE, [key], args)) === 1) return id
    }
    throw new StoreError('backend', `redis create found ${MAX_ID_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  /** One script: changes only the keys in the change set, moves the TTL; `GONE` if the record is not there. */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    const tag = tagOf(id)
    if (tag === null) return GONE
    const args = changeArgs(ttlMs, changes)
    return (await this.#run(APPLY, [redisKey(this.prefix, id, tag)], args)) === 1 ? id : GONE
  }

  /** One script: RENAME to a new id with the same lineage tag, apply the changes, leave a 60 s forwarding marker. */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    const tag = tagOf(id)
    if (tag === null) return GONE
    const oldKey = redisKey(this.prefix, id, tag)
    const args = changeArgs(ttlMs, changes)
    for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
      const next = this.newId(tag)
      const result = await this.#run(RENEW, [oldKey, redisKey(this.prefix, next, tag)], args)
      if (result === 1) return next
      if (result === 0) return GONE
    }
    throw new StoreError('backend', `redis renew found ${MAX_ID_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  /** One script that moves the TTL only; `GONE` if the record is not there. */
  async touch(id: string, ttlMs: number): Promise<string | Gone> {
    const tag = tagOf(id)
    if (tag === null) return GONE
    return (await this.#run(TOUCH, [redisKey(this.prefix, id, tag)], [ttlArg(ttlMs)])) === 1 ? id : GONE
  }

  /** One script that deletes the record and follows forwarding markers left by renews. */
  async delete(id: string): Promise<void> {
    const tag = tagOf(id)
    if (tag === null) return
    await this.#run(DELETE, [redisKey(this.prefix, id, tag)], [])
  }

  /** One script call: EVALSHA, then EVAL if this node has not cached the script; both under one deadline. */
  #run(script: Script, keys: string[], args: string[]): Promise<number> {
    const redis = this.#redis
    const firstKey = keys[0] as string
    const tail = [String(keys.length), ...keys, ...args]
    return withDeadline(redis, this.timeoutMs, script.name, async (remaining) => {
      let reply: unknown
      try {
        reply = await redis.send('EVALSHA', [script.sha, ...tail], firstKey, false, remaining())
      } catch (error) {
        if (!isNoScript(error)) throw error
        // EVAL also puts the script back in this node's cache, so the next EVALSHA hits.
        reply = await redis.send('EVAL', [script.source, ...tail], firstKey, false, remaining())
      }
      return Number(reply)
    })
  }
}
