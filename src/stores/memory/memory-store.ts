import { applyChanges } from '../../core/change-set.js'
import { encodeBase64url } from '../../crypto/format.js'
import { pooledRandomBytes } from '../../crypto/random.js'
import { ConfigError, StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import type { RevocationList, RevocationMark } from '../../core/revocation.js'
import { EXPIRED, GONE, MARKER_WINDOW_MS, RENEWED } from '../../core/store.js'
import type { ChangeSet, Missing, RevokeSelection, SessionOwner, SessionRecord, SessionStore, UserSessionEntry } from '../../core/store.js'

/**
 * Options of {@link MemoryStore}.
 *
 * @example
 * ```ts
 * const options: MemoryStoreOptions = { maxEntries: 50_000, maxBytes: 128 * 1024 * 1024 }
 * ```
 */
export interface MemoryStoreOptions {
  /** The most records held at once [10,000]. */
  maxEntries?: number
  /**
   * The most bytes of session data held at once [64 MiB], counted as the UTF-16 size of the
   * strings kept: 2 × (id length + JSON text length) per record. Object overhead is not counted.
   */
  maxBytes?: number
  /** Where the one-time eviction warning goes [`console`]. */
  logger?: { warn(message: string): void }
  /** The clock expiry is judged by, in epoch milliseconds [`Date.now`]; tests pass one they control. */
  clock?: () => number
}

interface Entry {
  readonly id: string
  /** The data as JSON text: callers get copies in and out, and the text's length is its size. */
  text: string
  readonly createdAt: number
  readonly absoluteExpiresAt: number | null
  expiresAt: number
  bytes: number
  /** The user it is filed under (kept as a copy: callers' objects are never aliased). */
  owner: SessionOwner | undefined
  // The recency list. A linked list rather than Map re-insertion: V8 leaves deleted Map slots in
  // place until a rehash, so finding the oldest entry by iteration would walk them on every eviction.
  older: Entry | undefined
  newer: Entry | undefined
}

/** Left by `renew` (forwarding to `target`) and by `delete` (`target` undefined: purged). */
interface Marker {
  readonly oldId: string
  readonly target: string | undefined
  readonly expiresAt: number
}

const MIB = 1024 * 1024
const ID_BYTES = 32

function randomId(): string {
  return encodeBase64url(pooledRandomBytes(ID_BYTES))
}

function positiveInteger(name: string, value: number, example: string): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConfigError(`MemoryStore ${name} must be a positive whole number (got ${String(value)}); pass e.g. ${name}: ${example}`)
  }
  return value
}

function expiryOf(now: number, ttlMs: number, absoluteExpiresAt: number | null): number {
  const idle = now + ttlMs
  return absoluteExpiresAt === null ? idle : Math.min(idle, absoluteExpiresAt)
}

/**
 * An in-process session store: fast, bounded, and gone when the process exits. Use it for
 * development, tests and single-instance apps; several instances need a shared store (Redis,
 * PostgreSQL, SQLite).
 *
 * Records are kept as JSON text, so nothing a caller holds aliases what the store holds. Expiry
 * reads `Date.now()` unless a `clock` is given (fake timers work either way). Ids are 32 bytes from `crypto.getRandomValues`, base64url.
 * Unlike the server stores, it keys records by the raw id, not by its SHA-256: nothing leaves the
 * process, so there is no backend to dump and no lookup timing to observe remotely.
 *
 * Bounded by `maxEntries` and `maxBytes`: over either bound it drops expired records first, then the
 * least recently used (loads, applies and touches count as use), and warns once the first time it
 * has to evict a live session. The full sweep for expired records runs only when a bound is
 * exceeded and at most once per as many operations as there are records, so every call stays O(1)
 * amortised.
 *
 * @example
 * ```ts
 * import { createSessionManager, MemoryStore } from 'cloakroom'
 * const manager = createSessionManager({ store: new MemoryStore({ maxEntries: 50_000 }), keys: [process.env.SESSION_KEY!] })
 * ```
 */
export class MemoryStore implements SessionStore {
  /** `true`: a deleted session is gone for good. */
  readonly canInvalidate = true

  readonly #maxEntries: number
  readonly #maxBytes: number
  readonly #logger: { warn(message: string): void }
  readonly #clock: () => number
  readonly #entries = new Map<string, Entry>()
  #oldest: Entry | undefined
  #newest: Entry | undefined
  #bytes = 0
  #operationsSinceSweep = 0
  #warned = false
  readonly #markers = new Map<string, Marker>()
  /** The ids of the records filed under each user. */
  readonly #byUser = new Map<string, Set<string>>()
  // Every marker lives MARKER_WINDOW_MS from its insertion, so this queue is in expiry order; markers
  // removed by `delete` stay in it until they reach the head, and its length is what is bounded.
  #markerQueue: Marker[] = []
  #markerHead = 0

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxEntries = positiveInteger('maxEntries', options.maxEntries ?? 10_000, '10_000')
    this.#maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 64 * MIB, '64 * 1024 * 1024')
    if (options.logger !== undefined && typeof options.logger.warn !== 'function') {
      throw new ConfigError('MemoryStore logger must have a warn(message) method; pass e.g. logger: console')
    }
    this.#logger = options.logger ?? console
    if (options.clock !== undefined && typeof options.clock !== 'function') {
      throw new ConfigError('MemoryStore clock must be a function returning epoch milliseconds; pass e.g. clock: () => Date.now()')
    }
    this.#clock = options.clock ?? (() => Date.now())
  }

  /**
   * How many records the store holds, including expired ones not yet swept.
   *
   * @example
   * ```ts
   * if (store.size > 9_000) console.warn('sessions near the MemoryStore bound')
   * ```
   */
  get size(): number {
    return this.#entries.size
  }

  /**
   * How many bytes of session data the store counts against `maxBytes`.
   *
   * @example
   * ```ts
   * metrics.gauge('sessions.bytes', store.bytes)
   * ```
   */
  get bytes(): number {
    return this.#bytes
  }

  /**
   * The record, or `null` when absent or expired; counts as use for the LRU order.
   */
  async load(id: string): Promise<SessionRecord | null> {
    const entry = this.#live(id, this.#clock())
    if (entry === undefined) return null
    this.#markUsed(entry)
    const record: SessionRecord = { data: JSON.parse(entry.text) as Record<string, Json>, createdAt: entry.createdAt, absoluteExpiresAt: entry.absoluteExpiresAt }
    if (entry.owner !== undefined) record.owner = copyOwner(entry.owner)
    return record
  }

  /**
   * Stores a new record under a fresh id.
   */
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    const text = encode(record.data)
    const expiresAt = expiryOf(this.#clock(), ttlMs, record.absoluteExpiresAt)
    return this.#insert(text, record.createdAt, record.absoluteExpiresAt, expiresAt, record.owner)
  }

  /**
   * Applies the change set and moves the expiry; without a live record, `GONE` (deleted moments
   * ago), `RENEWED` (renewed away moments ago) or `EXPIRED`.
   */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const now = this.#clock()
    const entry = this.#live(id, now)
    if (entry === undefined) return this.#whyMissing(id, now)
    const text = encode(applyChanges(JSON.parse(entry.text) as Record<string, Json>, changes))
    const bytes = sizeOf(id, text)
    this.#refuseOversized(bytes)
    this.#bytes += bytes - entry.bytes
    entry.text = text
    entry.bytes = bytes
    entry.expiresAt = expiryOf(now, ttlMs, entry.absoluteExpiresAt)
    if (changes.owner !== undefined) this.#file(entry, changes.owner ?? undefined)
    this.#markUsed(entry)
    this.#enforceBounds(entry)
    return id
  }

  /**
   * Moves the record to a new id with the changes applied, keeping `createdAt` and
   * `absoluteExpiresAt`; the old id answers nothing at once, but `delete(oldId)` still reaches the
   * new record for 60 s.
   */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    const now = this.#clock()
    const entry = this.#live(id, now)
    if (entry === undefined) return this.#whyMissing(id, now)
    const text = encode(applyChanges(JSON.parse(entry.text) as Record<string, Json>, changes))
    const owner = changes.owner === undefined ? entry.owner : (changes.owner ?? undefined)
    this.#remove(entry)
    const newId = this.#insert(text, entry.createdAt, entry.absoluteExpiresAt, expiryOf(now, ttlMs, entry.absoluteExpiresAt), owner)
    this.#addMarker(id, newId, now)
    return newId
  }

  /**
   * Moves the expiry as `apply` does with no changes.
   */
  async touch(id: string, ttlMs: number): Promise<string | Missing> {
    const now = this.#clock()
    const entry = this.#live(id, now)
    if (entry === undefined) return this.#whyMissing(id, now)
    entry.expiresAt = expiryOf(now, ttlMs, entry.absoluteExpiresAt)
    this.#markUsed(entry)
    return id
  }

  /**
   * Removes `key` from the live record and returns its value; `undefined` when absent. Synchronous
   * under the hood, so no other call can come between the read and the removal.
   *
   * @example
   * ```ts
   * const notice = await store.take(id, '~flash:notice')
   * ```
   */
  async take(id: string, key: string): Promise<Json | undefined> {
    const entry = this.#live(id, this.#clock())
    if (entry === undefined) return undefined
    const data = JSON.parse(entry.text) as Record<string, Json>
    if (!Object.hasOwn(data, key)) return undefined
    const value = data[key] as Json
    const text = encode(applyChanges(data, { clear: false, set: {}, remove: [key] }))
    const bytes = sizeOf(id, text)
    this.#bytes += bytes - entry.bytes
    entry.text = text
    entry.bytes = bytes
    this.#markUsed(entry)
    return value
  }

  /**
   * Ends the session, following renew's forwarding markers within their window; idempotent. Every
   * id it ends keeps a purge marker for 60 s, so a write racing the logout answers `GONE`.
   */
  async delete(id: string): Promise<void> {
    const now = this.#clock()
    // A chain of renews within the forwarding window is followed to its end; each hop replaces its
    // forwarding marker with a purge marker, so the loop cannot run longer than there are markers.
    let current: string | undefined = id
    while (current !== undefined) {
      const entry = this.#entries.get(current)
      if (entry !== undefined) this.#remove(entry)
      const marker = this.#markers.get(current)
      this.#addMarker(current, undefined, now)
      current = marker !== undefined && marker.expiresAt > now ? marker.target : undefined
    }
  }

  /**
   * The live sessions filed under `userId`, newest first.
   *
   * @example
   * ```ts
   * const devices = await store.listByUser('u42')
   * ```
   */
  async listByUser(userId: string): Promise<UserSessionEntry[]> {
    const now = this.#clock()
    const listed: UserSessionEntry[] = []
    for (const id of [...(this.#byUser.get(userId) ?? [])]) {
      const entry = this.#live(id, now)
      if (entry?.owner === undefined) continue
      const { handle, lastSeenAt, info } = entry.owner
      listed.push({ handle, createdAt: entry.createdAt, lastSeenAt, expiresAt: entry.expiresAt, info: { ...info } })
    }
    return listed.sort((a, b) => b.createdAt - a.createdAt)
  }

  /**
   * Ends the selected sessions of `userId` as `delete` does; returns how many it ended.
   *
   * @example
   * ```ts
   * await store.revokeByUser('u42', { except: currentHandle })
   * ```
   */
  async revokeByUser(userId: string, selection: RevokeSelection): Promise<number> {
    const now = this.#clock()
    const chosen = 'handles' in selection ? new Set(selection.handles) : undefined
    const except = 'except' in selection ? selection.except : undefined
    let ended = 0
    for (const id of [...(this.#byUser.get(userId) ?? [])]) {
      const handle = this.#live(id, now)?.owner?.handle
      if (handle === undefined || (chosen !== undefined ? !chosen.has(handle) : handle === except)) continue
      await this.delete(id)
      ended++
    }
    return ended
  }

  /**
   * A revocation list kept in this process (for the cookie store's revocable sessions in a
   * single-process app, and for tests). Marks live as long as `set` asks, by this store's clock.
   *
   * @example
   * ```ts
   * const store = new CookieStore({ revocations: new MemoryStore().revocationList() })
   * ```
   */
  revocationList(): RevocationList {
    const marks = new Map<string, { mark: RevocationMark; expiresAt: number }>()
    const clock = this.#clock
    return {
      async get(userId) {
        const kept = marks.get(userId)
        if (kept === undefined || kept.expiresAt <= clock()) return null
        return { ...kept.mark }
      },
      async set(userId, mark, ttlMs) {
        marks.set(userId, { mark: { ...mark }, expiresAt: ttlMs === null ? Number.POSITIVE_INFINITY : clock() + ttlMs })
      },
    }
  }

  /** Files `entry` under `owner` (or unfiles it), keeping the by-user index in step. */
  #file(entry: Entry, owner: SessionOwner | undefined): void {
    const before = entry.owner?.userId
    if (before !== undefined && before !== owner?.userId) {
      const ids = this.#byUser.get(before)
      ids?.delete(entry.id)
      if (ids?.size === 0) this.#byUser.delete(before)
    }
    entry.owner = owner === undefined ? undefined : copyOwner(owner)
    if (owner !== undefined && before !== owner.userId) {
      let ids = this.#byUser.get(owner.userId)
      if (ids === undefined) this.#byUser.set(owner.userId, (ids = new Set()))
      ids.add(entry.id)
    }
  }

  /** Why there is no live record for `id`: a marker within its window says; otherwise it expired. */
  #whyMissing(id: string, now: number): Missing {
    const marker = this.#markers.get(id)
    if (marker === undefined || marker.expiresAt <= now) return EXPIRED
    return marker.target === undefined ? GONE : RENEWED
  }

  #live(id: string, now: number): Entry | undefined {
    this.#operationsSinceSweep++
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.#remove(entry)
      return undefined
    }
    return entry
  }

  #insert(text: string, createdAt: number, absoluteExpiresAt: number | null, expiresAt: number, owner: SessionOwner | undefined): string {
    this.#operationsSinceSweep++
    // 256 random bits make a collision practically impossible; checking costs nothing and keeps create NX.
    let id = randomId()
    while (this.#entries.has(id) || this.#markers.has(id)) id = randomId()
    const bytes = sizeOf(id, text)
    this.#refuseOversized(bytes)
    const entry: Entry = { id, text, createdAt, absoluteExpiresAt, expiresAt, bytes, owner: undefined, older: this.#newest, newer: undefined }
    this.#file(entry, owner)
    this.#entries.set(id, entry)
    this.#append(entry)
    this.#bytes += bytes
    this.#enforceBounds(entry)
    return id
  }

  #remove(entry: Entry): void {
    this.#file(entry, undefined)
    this.#entries.delete(entry.id)
    this.#unlink(entry)
    this.#bytes -= entry.bytes
  }

  #append(entry: Entry): void {
    entry.older = this.#newest
    entry.newer = undefined
    if (this.#newest !== undefined) this.#newest.newer = entry
    else this.#oldest = entry
    this.#newest = entry
  }

  #unlink(entry: Entry): void {
    if (entry.older !== undefined) entry.older.newer = entry.newer
    else this.#oldest = entry.newer
    if (entry.newer !== undefined) entry.newer.older = entry.older
    else this.#newest = entry.older
    entry.older = entry.newer = undefined
  }

  #markUsed(entry: Entry): void {
    if (entry === this.#newest) return
    this.#unlink(entry)
    this.#append(entry)
  }

  #refuseOversized(bytes: number): void {
    if (bytes > this.#maxBytes) {
      throw new StoreError('encode', `a session record of ${bytes} bytes does not fit in the MemoryStore's maxBytes (${this.#maxBytes}); raise maxBytes or store less`)
    }
  }

  #over(): boolean {
    return this.#entries.size > this.#maxEntries || this.#bytes > this.#maxBytes
  }

  /** Brings the store back within its bounds, never evicting `keep` (the record just written). */
  #enforceBounds(keep: Entry): void {
    if (!this.#over()) return
    const now = this.#clock()
    // The full sweep is paid for by the operations since the last one, so it stays O(1) amortised.
    if (this.#operationsSinceSweep >= this.#entries.size) {
      this.#operationsSinceSweep = 0
      for (let entry = this.#oldest; entry !== undefined; ) {
        const next: Entry | undefined = entry.newer
        if (entry.expiresAt <= now) this.#remove(entry)
        entry = next
      }
    }
    for (let entry = this.#oldest; entry !== undefined && this.#over(); ) {
      const next: Entry | undefined = entry.newer
      if (entry !== keep) {
        if (entry.expiresAt > now) this.#warnOnce()
        this.#remove(entry)
      }
      entry = next
    }
  }

  #warnOnce(): void {
    if (this.#warned) return
    this.#warned = true
    this.#logger.warn(
      `cloakroom: MemoryStore evicted a live session to stay within maxEntries ${this.#maxEntries} / maxBytes ${this.#maxBytes}; ` +
        'raise the bounds or use a shared store (Redis, PostgreSQL, SQLite). This warning is shown once.',
    )
  }

  #addMarker(oldId: string, target: string | undefined, now: number): void {
    const queue = this.#markerQueue
    while (this.#markerHead < queue.length) {
      const head = queue[this.#markerHead] as Marker
      if (head.expiresAt > now && queue.length - this.#markerHead < this.#maxEntries) break
      if (this.#markers.get(head.oldId) === head) this.#markers.delete(head.oldId)
      this.#markerHead++
    }
    if (this.#markerHead > 1024 && this.#markerHead * 2 > queue.length) {
      this.#markerQueue = queue.slice(this.#markerHead)
      this.#markerHead = 0
    }
    const marker: Marker = { oldId, target, expiresAt: now + MARKER_WINDOW_MS }
    this.#markers.set(oldId, marker)
    this.#markerQueue.push(marker)
  }
}

function copyOwner(owner: SessionOwner): SessionOwner {
  return { userId: owner.userId, handle: owner.handle, lastSeenAt: owner.lastSeenAt, info: { ...owner.info } }
}

function sizeOf(id: string, text: string): number {
  return 2 * (id.length + text.length)
}

function encode(data: Record<string, Json>): string {
  try {
    return JSON.stringify(data)
  } catch (error) {
    throw new StoreError('encode', 'session data could not be serialized as JSON', { cause: error })
  }
}
