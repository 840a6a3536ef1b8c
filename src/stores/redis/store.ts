import { ConfigError, StoreError } from '../../core/errors.js'
import type { RevocationList } from '../../core/revocation.js'
import type { ChangeSet, Missing, RevokeSelection, SessionRecord, SessionStore, UserSessionEntry } from '../../core/store.js'
import { endChain } from './chain.js'
import { toCommander } from './client.js'
import type { RedisClientLike, RedisCommander } from './client.js'
import { changeArgs, decodeRecord, recordArgs, ttlArg } from './codec.js'
import { awaitReplicas, resolveDurability } from './durability.js'
import type { RedisDurability } from './durability.js'
import { isWrongType, withDeadline } from './errors.js'
import type { Deadline } from './errors.js'
import { evalScript } from './eval.js'
import { foreignTag, newSessionId, redisKey, tagOf } from './keys.js'
import { writeReply } from './replies.js'
import { redisRevocationList } from './revocation-list.js'
import { APPLY, CREATE, RENEW, REPLY, TOUCH } from './scripts.js'
import type { Script } from './scripts.js'
import { send } from './send.js'
import { UserIndex } from './user-index.js'
import { ActixRedisStore } from './actix.js'
import { ACTIX_STORE, type ActixStoreOptions } from '../../actix/store-hook.js'

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
  /**
   * Off by default. Makes `delete`, `revokeByUser` and `renew` wait (`WAIT`) until this many replicas
   * have the change, so that a failover cannot bring a logged-out session back; see {@link RedisDurability}.
   */
  durability?: RedisDurability
}

// Ids carry 256 random bits, so a collision is not expected in the life of the universe; the
// bound only keeps a broken random source from looping forever.
const MAX_ID_ATTEMPTS = 5

/**
 * A session store on Redis (standalone or Cluster), one hash per session. `load` is one HGETALL;
 * `create`, `apply`, `renew` and `touch` are one Lua script each (EVALSHA, with EVAL when the server
 * answers NOSCRIPT), and so is `delete` unless the session was renewed in the last minute (then one
 * more per renew). Expiry is Redis' own TTL, computed from the server's clock and capped at the
 * record's absolute expiry. Renew and delete leave markers for 60 s, so a write to an id that has
 * no record says why: `GONE` (deleted), `RENEWED` (renewed away) or `EXPIRED`.
 *
 * A session filed under a user (`owner`) keeps its owner in its own hash, and a per-user index
 * (one hash per user, in the user's own Cluster slot) points from its handle to its key; writes that
 * change the filing, and renews of a filed session, cost one more command to keep it in step. See
 * `listByUser`, `revokeByUser` and docs/stores/redis.md.
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
  readonly #index: UserIndex
  readonly #durability: Required<RedisDurability> | undefined

  constructor(options: RedisStoreOptions) {
    const { client, prefix = 'cloakroom:', timeoutMs = 2000 } = options
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
      throw new ConfigError(`RedisStore timeoutMs must be a positive number of milliseconds, got ${String(timeoutMs)}`)
    }
    if (prefix.includes('{') || prefix.includes('}')) {
      // A brace in the prefix would become the Cluster hash tag instead of the session's lineage tag.
      throw new ConfigError('RedisStore prefix must not contain "{" or "}": the session key carries its own hash tag')
    }
    this.#durability = resolveDurability(options.durability, timeoutMs)
    this.#redis = toCommander(client)
    this.prefix = prefix
    this.timeoutMs = timeoutMs
    this.#index = new UserIndex(this.#redis, prefix, timeoutMs, (key, remaining) => this.#durable(key, 'revokeByUser', remaining))
  }

  /** actix-session's `RedisSessionStore` format (its keys and commands), for the manager's `actixSession` option. */
  [ACTIX_STORE](options: ActixStoreOptions): SessionStore {
    return new ActixRedisStore(this.#redis, options.prefix, this.timeoutMs)
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
        send(this.#redis, 'HGETALL', [key], key, true, remaining),
      )
      return decodeRecord(reply)
    } catch (error) {
      // Something that is not a hash sits under our key: not ours, so no session.
      if (error instanceof StoreError && isWrongType(error.cause)) return null
      throw error
    }
  }

  /**
   * One script that refuses an existing key; on that (astronomically rare) refusal it retries with a
   * new id. A record with an owner then costs one more script: its entry in the user's index.
   */
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    const args = [
      ttlArg(ttlMs),
      String(record.createdAt),
      record.absoluteExpiresAt === null ? '' : String(record.absoluteExpiresAt),
      ...recordArgs(record),
    ]
    return withDeadline(this.#redis, this.timeoutMs, CREATE.name, async (remaining) => {
      for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
        const id = this.newId()
        const key = redisKey(this.prefix, id, tagOf(id) as string)
        if (Number(await evalScript(this.#redis, CREATE, [key], args, remaining)) !== 1) continue
        // After the record: an entry never names a key that has not been written yet. If this fails,
        // create fails, and the filed record no cookie names expires with its TTL.
        if (record.owner !== undefined) await this.#index.add(record.owner, key, remaining)
        return id
      }
      throw new StoreError('backend', `redis create found ${MAX_ID_ATTEMPTS} fresh ids taken; the random source is broken`)
    })
  }

  /**
   * One script: changes only the keys in the change set and moves the TTL; without a live record,
   * `GONE` (a purge marker), `RENEWED` (a forwarding marker) or `EXPIRED`. When the change set files
   * the session under another user or handle, or unfiles it, one more script updates the index (the
   * script's reply says so); refreshing `lastSeenAt` or `info` costs nothing more.
   */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const args = changeArgs(ttlMs, changes)
    const { key } = this.#keyOf(id)
    return withDeadline(this.#redis, this.timeoutMs, APPLY.name, async (remaining) => {
      const { outcome, filing } = writeReply(await evalScript(this.#redis, APPLY, [key], args, remaining), 'apply')
      if (filing !== undefined) await this.#index.follow(filing, key, key, remaining)
      return outcome === 'live' ? id : outcome
    })
  }

  /**
   * One script: RENAME to a new id with the same lineage tag, apply the changes, leave a 60 s
   * forwarding marker. The owner moves with the record (handle included); a filed session's index
   * entry then costs one more script, to name the new key.
   */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const { key: oldKey, tag } = this.#keyOf(id)
    const args = changeArgs(ttlMs, changes)
    return withDeadline(this.#redis, this.timeoutMs, RENEW.name, async (remaining) => {
      for (let attempt = 0; attempt < MAX_ID_ATTEMPTS; attempt++) {
        const next = this.newId(tag)
        const newKey = redisKey(this.prefix, next, tag)
        const reply = await evalScript(this.#redis, RENEW, [oldKey, newKey], args, remaining)
        if (Number(reply) === REPLY.TAKEN) continue
        const { outcome, filing } = writeReply(reply, 'renew')
        if (outcome === 'live') await this.#durable(newKey, 'renew', remaining)
        // If this fails, renew fails and the new id is never handed out; a listing meanwhile
        // follows the old key's forwarding marker.
        if (filing !== undefined) await this.#index.follow(filing, oldKey, newKey, remaining)
        return outcome === 'live' ? next : outcome
      }
      throw new StoreError('backend', `redis renew found ${MAX_ID_ATTEMPTS} fresh ids taken; the random source is broken`)
    })
  }

  /** One script that moves the TTL only; answers as `apply`. */
  async touch(id: string, ttlMs: number): Promise<string | Missing> {
    const { outcome } = writeReply(await this.#run(TOUCH, [this.#keyOf(id).key], [ttlArg(ttlMs)]), 'touch')
    return outcome === 'live' ? id : outcome
  }

  /**
   * Ends the session and every id a renew forwarded it to within the last 60 s, leaving a purge
   * marker on each. One script call when the id was not renewed; otherwise one more per forwarding
   * marker: the script only touches keys it was given, so it hands back the key a marker names and
   * is called again with it, changing nothing until it has the whole chain, and then ending it all
   * at once. A delete that fails part-way (a timeout, a slot migration) has changed nothing, and
   * retrying it is safe. Ending a filed session costs one more script, dropping its index entry. The
   * whole walk shares one `timeoutMs`.
   */
  async delete(id: string): Promise<void> {
    const start = this.#keyOf(id)
    await withDeadline(this.#redis, this.timeoutMs, 'delete', async (remaining) => {
      const end = await endChain(this.#redis, this.prefix, start, undefined, remaining)
      if (end.ended) await this.#durable(start.key, 'delete', remaining)
      if (end.ended && end.filed !== null) await this.#index.drop(end.filed, end.keys, remaining)
    })
  }

  /**
   * The live sessions filed under `userId`, newest first: one HGETALL of the user's index, then one
   * read per entry, all sent at once (in a cluster, each to its own slot's master). Every session
   * listed is one whose record is live and filed under this user with this handle; entries whose
   * record is gone or filed otherwise are dropped from the index, and an entry still naming a
   * renewed session's old key is repointed. The whole call shares one `timeoutMs`.
   *
   * @example
   * ```ts
   * const devices = await store.listByUser('u42')
   * ```
   */
  listByUser(userId: string): Promise<UserSessionEntry[]> {
    return this.#index.list(userId)
  }

  /**
   * Ends the selected sessions of `userId` as `delete` does (purge markers included) and returns how
   * many it ended. Each is ended by its own script, which first checks that the record is filed
   * under this user with that handle, so an entry gone stale can never end another user's session.
   * All are sent at once, within one `timeoutMs`.
   *
   * @example
   * ```ts
   * await store.revokeByUser('u42', { except: currentHandle })
   * ```
   */
  revokeByUser(userId: string, selection: RevokeSelection): Promise<number> {
    return this.#index.revoke(userId, selection)
  }

  /**
   * A revocation list on this Redis (for the cookie store's revocable sessions): one small key per
   * user, `<prefix>r:{<sha256(userId)>}`, living as long as each mark must.
   *
   * @example
   * ```ts
   * const cookies = new CookieStore({ revocations: new RedisStore({ client }).revocationList() })
   * ```
   */
  revocationList(): RevocationList {
    return redisRevocationList(this.#redis, this.prefix, this.timeoutMs)
  }

  /** With `durability`, waits for the replicas to have what was just written in `key`'s slot. */
  async #durable(key: string, operation: string, remaining: Deadline): Promise<void> {
    if (this.#durability !== undefined) await awaitReplicas(this.#redis, this.#durability, key, operation, remaining)
  }

  /** The key of an id, and the hash tag its renewals keep; an id we could not have issued gets a tag from its hash. */
  #keyOf(id: string): { key: string; tag: string } {
    const tag = tagOf(id) ?? foreignTag(id)
    return { key: redisKey(this.prefix, id, tag), tag }
  }

  /** One script call under its own deadline. */
  #run(script: Script, keys: string[], args: string[]): Promise<unknown> {
    return withDeadline(this.#redis, this.timeoutMs, script.name, (remaining) => evalScript(this.#redis, script, keys, args, remaining))
  }
}
