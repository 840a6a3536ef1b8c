import { applyChanges } from '../../core/change-set.js'
import { ConfigError, StoreError } from '../../core/errors.js'
import type { Json } from '../../core/json.js'
import { GONE } from '../../core/store.js'
import type { ChangeSet, Gone, SessionRecord, SessionStore } from '../../core/store.js'

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
}

interface Entry {
  /** The data as JSON text: callers get copies in and out, and the text's length is its size. */
  text: string
  createdAt: number
  absoluteExpiresAt: number | null
  expiresAt: number
  bytes: number
}

interface Marker {
  target: string
  expiresAt: number
}

const MIB = 1024 * 1024
const FORWARDING_MS = 60_000
const ID_BYTES = 32
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

// Ids are minted on every create and renew: one getRandomValues call fills ids for 128 of them.
const pool = new Uint8Array(ID_BYTES * 128)
let poolOffset = pool.length

function randomId(): string {
  if (poolOffset + ID_BYTES > pool.length) {
    crypto.getRandomValues(pool)
    poolOffset = 0
  }
  const bytes = pool.subarray(poolOffset, poolOffset + ID_BYTES)
  poolOffset += ID_BYTES
  return base64url(bytes)
}

function base64url(bytes: Uint8Array): string {
  let out = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number)
    out += BASE64URL[n >>> 18]! + BASE64URL[(n >>> 12) & 63]! + BASE64URL[(n >>> 6) & 63]! + BASE64URL[n & 63]!
  }
  const rest = bytes.length - i
  if (rest > 0) {
    const n = ((bytes[i] as number) << 16) | (rest === 2 ? (bytes[i + 1] as number) << 8 : 0)
    out += BASE64URL[n >>> 18]! + BASE64URL[(n >>> 12) & 63]!
    if (rest === 2) out += BASE64URL[(n >>> 6) & 63]!
  }
  return out
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
 * reads `Date.now()` (fake timers work). Ids are 32 bytes from `crypto.getRandomValues`, base64url.
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
  // Map iteration order is insertion order: re-inserting on use keeps the least recently used first.
  readonly #entries = new Map<string, Entry>()
  // Every marker lives FORWARDING_MS from its insertion, so insertion order is also expiry order.
  readonly #markers = new Map<string, Marker>()
  #bytes = 0
  #operationsSinceSweep = 0
  #warned = false

  constructor(options: MemoryStoreOptions = {}) {
    this.#maxEntries = positiveInteger('maxEntries', options.maxEntries ?? 10_000, '10_000')
    this.#maxBytes = positiveInteger('maxBytes', options.maxBytes ?? 64 * MIB, '64 * 1024 * 1024')
    if (options.logger !== undefined && typeof options.logger.warn !== 'function') {
      throw new ConfigError('MemoryStore logger must have a warn(message) method; pass e.g. logger: console')
    }
    this.#logger = options.logger ?? console
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
   *
   * @example
   * ```ts
   * const record = await store.load(id)
   * ```
   */
  async load(id: string): Promise<SessionRecord | null> {
    const entry = this.#live(id, Date.now())
    if (entry === undefined) return null
    this.#markUsed(id, entry)
    return { data: JSON.parse(entry.text) as Record<string, Json>, createdAt: entry.createdAt, absoluteExpiresAt: entry.absoluteExpiresAt }
  }

  /**
   * Stores a new record under a fresh id.
   *
   * @example
   * ```ts
   * const id = await store.create({ data: { counter: 1 }, createdAt: Date.now(), absoluteExpiresAt: null }, 86_400_000)
   * ```
   */
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    const now = Date.now()
    const text = encode(record.data)
    const id = this.#freshId()
    this.#insert(id, { text, createdAt: record.createdAt, absoluteExpiresAt: record.absoluteExpiresAt, expiresAt: expiryOf(now, ttlMs, record.absoluteExpiresAt), bytes: 0 })
    return id
  }

  /**
   * Applies the change set and moves the expiry; `GONE` when the record is missing or expired.
   *
   * @example
   * ```ts
   * await store.apply(id, { clear: false, set: { counter: 2 }, remove: [] }, 86_400_000)
   * ```
   */
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    const now = Date.now()
    const entry = this.#live(id, now)
    if (entry === undefined) return GONE
    const text = encode(applyChanges(JSON.parse(entry.text) as Record<string, Json>, changes))
    this.#replace(id, entry, { ...entry, text, expiresAt: expiryOf(now, ttlMs, entry.absoluteExpiresAt) })
    return id
  }

  /**
   * Moves the record to a new id with the changes applied, keeping `createdAt` and
   * `absoluteExpiresAt`; the old id answers nothing at once, but `delete(oldId)` still reaches the
   * new record for 60 s.
   *
   * @example
   * ```ts
   * const newId = await store.renew(id, { clear: false, set: { user: 'ferris' }, remove: [] }, 86_400_000)
   * ```
   */
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    const now = Date.now()
    const entry = this.#live(id, now)
    if (entry === undefined) return GONE
    const text = encode(applyChanges(JSON.parse(entry.text) as Record<string, Json>, changes))
    const newId = this.#freshId()
    this.#remove(id, entry)
    this.#insert(newId, { ...entry, text, expiresAt: expiryOf(now, ttlMs, entry.absoluteExpiresAt) })
    this.#addMarker(id, newId, now)
    return newId
  }

  /**
   * Moves the expiry as `apply` does with no changes.
   *
   * @example
   * ```ts
   * await store.touch(id, 86_400_000)
   * ```
   */
  async touch(id: string, ttlMs: number): Promise<string | Gone> {
    const now = Date.now()
    const entry = this.#live(id, now)
    if (entry === undefined) return GONE
    entry.expiresAt = expiryOf(now, ttlMs, entry.absoluteExpiresAt)
    this.#markUsed(id, entry)
    return id
  }

  /**
   * Ends the session, following renew's forwarding markers; idempotent.
   *
   * @example
   * ```ts
   * await store.delete(id)
   * ```
   */
  async delete(id: string): Promise<void> {
    const now = Date.now()
    // A chain of renews within the forwarding window is followed to its end; each hop removes its
    // marker, so the loop cannot run longer than there are markers.
    let current: string | undefined = id
    while (current !== undefined) {
      const entry = this.#entries.get(current)
      if (entry !== undefined) this.#remove(current, entry)
      const marker = this.#markers.get(current)
      this.#markers.delete(current)
      current = marker !== undefined && marker.expiresAt > now ? marker.target : undefined
    }
  }

  #live(id: string, now: number): Entry | undefined {
    this.#operationsSinceSweep++
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      this.#remove(id, entry)
      return undefined
    }
    return entry
  }

  #freshId(): string {
    // 256 random bits make a collision practically impossible; checking costs nothing and keeps create NX.
    let id = randomId()
    while (this.#entries.has(id) || this.#markers.has(id)) id = randomId()
    return id
  }

  #markUsed(id: string, entry: Entry): void {
    this.#entries.delete(id)
    this.#entries.set(id, entry)
  }

  #insert(id: string, entry: Entry): void {
    this.#operationsSinceSweep++
    entry.bytes = 2 * (id.length + entry.text.length)
    this.#refuseOversized(entry.bytes)
    this.#entries.set(id, entry)
    this.#bytes += entry.bytes
    this.#enforceBounds(id)
  }

  #replace(id: string, old: Entry, entry: Entry): void {
    entry.bytes = 2 * (id.length + entry.text.length)
    this.#refuseOversized(entry.bytes)
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    this.#bytes += entry.bytes - old.bytes
    this.#enforceBounds(id)
  }

  #remove(id: string, entry: Entry): void {
    this.#entries.delete(id)
    this.#bytes -= entry.bytes
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
  #enforceBounds(keep: string): void {
    if (!this.#over()) return
    const now = Date.now()
    if (this.#operationsSinceSweep >= this.#entries.size) {
      this.#operationsSinceSweep = 0
      for (const [id, entry] of this.#entries) if (entry.expiresAt <= now) this.#remove(id, entry)
    }
    for (const [id, entry] of this.#entries) {
      if (!this.#over()) break
      if (id === keep) continue
      if (entry.expiresAt > now) this.#warnOnce()
      this.#remove(id, entry)
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

  #addMarker(oldId: string, newId: string, now: number): void {
    // Oldest first: expired markers sit at the head, and the count bound drops the oldest.
    for (const [id, marker] of this.#markers) {
      if (marker.expiresAt > now && this.#markers.size < this.#maxEntries) break
      this.#markers.delete(id)
    }
    this.#markers.set(oldId, { target: newId, expiresAt: now + FORWARDING_MS })
  }
}

function encode(data: Record<string, Json>): string {
  try {
    return JSON.stringify(data)
  } catch (error) {
    throw new StoreError('encode', 'session data could not be serialized as JSON', { cause: error })
  }
}
