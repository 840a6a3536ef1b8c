import { ConfigError, StoreError } from '../../core/errors.js'
import type { ChangeSet, Missing, SessionRecord, SessionStore } from '../../core/store.js'
import { toCommander } from './client.js'
import type { RedisClientLike, RedisCommander } from './client.js'
import { changeArgs, dataArgs, decodeRecord, ttlArg } from './codec.js'
import { isNoScript, isWrongType, withDeadline } from './errors.js'
import { foreignTag, keyOfHash, newSessionId, redisKey, tagOf } from './keys.js'
import { deleteStep, writeOutcome } from './replies.js'
import { APPLY, CREATE, DELETE, RENEW, REPLY, TOUCH } from './scripts.js'
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
// Each renew within a minute of the last adds a hop to the chain a delete follows; an app renews on
// login or a change of privilege, so a real chain is a hop or two long.
const MAX_FORWARD_HOPS = 16

/**
 * A session store on Redis (standalone or Cluster), one hash per session. `load` is one HGETALL;
 * `create`, `apply`, `renew` and `touch` are one Lua script each (EVALSHA, with EVAL when the server
 * answers NOSCRIPT), and so is `delete` unless the session was renewed in the last minute (then one
 * more per renew). Expiry is Redis' own TTL, computed from the server's clock and capped at the
 * record's absolute expiry. Renew and delete leave markers for 60 s, so a write to an id that has
 * no record says why: `GONE` (deleted), `RENEWED` (renewed away) or `EXPIRED`.
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

  /** One HGETALL. Absent, expired, a marker or unreadable → `null`; an id we could not have issued → `null` without asking. */
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
      if (Number(await this.#run(CREATE, [key], args)) === 1) return id
    }
    throw new StoreError('backend', `redis create found ${MAX_ID_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  /**
   * One script: changes only the keys in the change set and moves the TTL; without a live record,
   * `GONE` (a purge marker), `RENEWED` (a forwarding marker) or `EXPIRED`.
   */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const args = changeArgs(ttlMs, changes)
    const outcome = writeOutcome(await this.#run(APPLY, [this.#keyOf(id).key], args), 'apply')
    return outcome === 'live' ? id : outcome
  }

  /** One script: RENAME to a new id with the same lineage tag, apply the changes, leave a 60 s forwarding marker. */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const { key: oldKey, tag } = this.#keyOf(id)
    const args = changeArgs(ttlMs, changes)
    for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
      const next = this.newId(tag)
      const reply = await this.#run(RENEW, [oldKey, redisKey(this.prefix, next, tag)], args)
      if (Number(reply) === REPLY.TAKEN) continue
      const outcome = writeOutcome(reply, 'renew')
      return outcome === 'live' ? next : outcome
    }
    throw new StoreError('backend', `redis renew found ${MAX_ID_ATTEMPTS} fresh ids taken; the random source is broken`)
  }

  /** One script that moves the TTL only; answers as `apply`. */
  async touch(id: string, ttlMs: number): Promise<string | Missing> {
    const outcome = writeOutcome(await this.#run(TOUCH, [this.#keyOf(id).key], [ttlArg(ttlMs)]), 'touch')
    return outcome === 'live' ? id : outcome
  }

  /**
   * Ends the session and every id a renew forwarded it to within the last 60 s, leaving a purge
   * marker on each. One script call when the id was not renewed; otherwise one more per forwarding
   * marker: the script only touches keys it was given, so it hands back the key a marker names and
   * is called again with it, changing nothing until it has the whole chain, and then ending it all
   * at once. A delete that fails part-way (a timeout, a slot migration) has changed nothing, and
   * retrying it is safe. The whole walk shares one `timeoutMs`.
   */
  async delete(id: string): Promise<void> {
    const { key, tag } = this.#keyOf(id)
    const chain = [key]
    await withDeadline(this.#redis, this.timeoutMs, 'delete', async (remaining) => {
      for (let calls = 0; calls <= MAX_FORWARD_HOPS; calls++) {
        const next = deleteStep(await this.#evalsha(DELETE, chain, [], remaining), chain.length)
        if (next === null) return
        chain.splice(next.index, Infinity, keyOfHash(this.prefix, tag, next.hash))
      }
      throw new StoreError(
        'backend',
        `redis delete found more than ${MAX_FORWARD_HOPS} renews of one session within a minute; nothing was deleted`,
      )
    })
  }

  /** The key of an id, and the hash tag its renewals keep; an id we could not have issued gets a tag from its hash. */
  #keyOf(id: string): { key: string; tag: string } {
    const tag = tagOf(id) ?? foreignTag(id)
    return { key: redisKey(this.prefix, id, tag), tag }
  }

  /** One script call under its own deadline. */
  #run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    return withDeadline(this.#redis, this.timeoutMs, script.name, (remaining) => this.#evalsha(script, keys, args, remaining))
  }

  /** EVALSHA, then EVAL if this node has not cached the script. */
  async #evalsha(script: Script, keys: string[], args: string[], remaining: () => number): Promise<unknown> {
    const redis = this.#redis
    const firstKey = keys[0] as string
    const tail = [String(keys.length), ...keys, ...args]
    try {
      return await redis.send('EVALSHA', [script.sha, ...tail], firstKey, false, remaining())
    } catch (error) {
      if (!isNoScript(error)) throw error
      // EVAL also puts the script back in this node's cache, so the next EVALSHA hits.
      return await redis.send('EVAL', [script.source, ...tail], firstKey, false, remaining())
    }
  }
}
