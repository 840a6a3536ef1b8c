import { applyChanges } from './change-set.js'
import { VERSION_KEY, type DataRules } from './data-rules.js'
import { ConfigError, SessionCommittedError, SessionSchemaError, SessionValueError, StoreError, type CloakroomError } from './errors.js'
import { FLASH_PREFIX, isFlashKey, refuseFlashKey, splitFlashes, withoutFlashes } from './flash.js'
import { defineOwn, toJsonValue } from './json-value.js'
import type { Json, JsonShape } from './json.js'
import type { Logger } from './logger.js'
import { readData, type ReadData } from './read-data.js'
import type { RegisteredData, RegisteredFlash } from './register.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import { SessionStatus } from './status.js'
import type { ChangeSet, RevokeSelection, SessionRecord, UserSessionEntry } from './store.js'

type Key<Data> = Extract<keyof Data, string>
/** What a key holds when present: `counter?: number` holds a number (an absent key reads as `undefined`). */
type Value<Data, K extends keyof Data> = Exclude<Data[K], undefined>

/**
 * The session of one request. Every handle taken in a request sees the same record. Reads are
 * async because the store is read lazily, on the first read; writes are recorded at once, in call
 * order, and sent to the store when the response head is about to leave.
 *
 * | call | status after |
 * |---|---|
 * | `get`, `has`, `entries` | unchanged |
 * | `insert`, `update`, `updateOr`, `remove`, `removeAs`, `clear` | changed (renewed stays renewed) |
 * | `flash`; `takeFlash` that delivers a flash; `reflash` that keeps one | changed (renewed stays renewed) |
 * | `renew` | renewed |
 * | `purge` | purged, for good: later writes are ignored |
 *
 * Under the `schema` option, the stored data is checked on the first read of the request; a value it
 * refuses reads as absent (`onInvalid: 'drop'`) or makes reading it throw {@link SessionSchemaError}
 * (`'error'`). Under `version`, a record of an older version is migrated on that read, which marks
 * the session changed (the migrated data is written at this request's commit).
 *
 * Flash messages (`flash`, `takeFlash`, `reflash`) are typed by `Flash` (the second type argument,
 * or `Register`'s `flash`), kept in the record beside the data, and never seen by `get` or `entries`.
 *
 * @example
 * ```ts
 * const n = (await session.get('counter')) ?? 0
 * session.insert('counter', n + 1)
 * ```
 */
export interface Session<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash> {
  /** `'unchanged' | 'changed' | 'renewed' | 'purged'`. */
  readonly status: SessionStatus
  /**
   * Where this request's session came from, for a diagnostics page or an audit line: its creation
   * time and absolute end (from the record), and the id of the key that opened the cookie. `null`
   * when no live session came in: no cookie, a refused one, or no record behind it. Loads the
   * session as a read does. Read-only: it changes nothing.
   *
   * @example
   * ```ts
   * const origin = await session.origin()
   * if (origin?.staleKey) console.info(`cookie sealed under retired key ${origin.keyId}: re-sealed now`)
   * ```
   */
  origin(): Promise<SessionOrigin | null>
  /** The value at `key`, or `undefined`; with a Standard Schema, validated (throws {@link SessionSchemaError}). */
  get<K extends Key<Data>>(key: K): Promise<Value<Data, K> | undefined>
  get<S extends StandardSchemaV1>(key: string, schema: S): Promise<StandardSchemaV1.InferOutput<S> | undefined>
  /** Whether `key` holds a value. */
  has(key: Key<Data>): Promise<boolean>
  /** A frozen copy of every key and value. Key order is not preserved by every store. */
  entries(): Promise<Readonly<Partial<Data>>>
  /** Sets `key`. The value must survive JSON unchanged, else {@link SessionValueError} is thrown and nothing changes. */
  insert<K extends Key<Data>>(key: K, value: Value<Data, K>): void
  /** If `key` is present, replaces its value with `fn(old)`; otherwise does nothing. */
  update<K extends Key<Data>>(key: K, fn: (old: Value<Data, K>) => Value<Data, K>): Promise<void>
  /** If `key` is present, replaces its value with `fn(old)`; otherwise inserts `initial`. */
  updateOr<K extends Key<Data>>(key: K, initial: Value<Data, K>, fn: (old: Value<Data, K>) => Value<Data, K>): Promise<void>
  /** Removes `key` and resolves to its old value. Marks the session changed even when the key was absent. */
  remove<K extends Key<Data>>(key: K): Promise<Value<Data, K> | undefined>
  /** Removes `key` and validates its old value with a Standard Schema. The key is removed either way. */
  removeAs<S extends StandardSchemaV1>(key: string, schema: S): Promise<StandardSchemaV1.InferOutput<S> | undefined>
  /** Removes every key; the session itself lives on (empty). */
  clear(): void
  /** Ends the session: deletes the record and the cookie. Later writes are ignored. Call it on logout. */
  purge(): void
  /** Keeps the data under a new id, so an id seen before cannot be used after. Call it on login and privilege change. */
  renew(): void
  /**
   * Leaves a flash message: a value kept with the session until a request reads it with
   * {@link Session.takeFlash} (typically the page a redirect leads to). A second flash under the same
   * key replaces the first. The value must survive JSON unchanged, as for `insert`.
   *
   * @example
   * ```ts
   * session.flash('notice', 'Profile saved')
   * return Response.redirect('/profile', 303)
   * ```
   */
  flash<K extends Key<Flash>>(key: K, value: Value<Flash, K>): void
  /**
   * Reads the flash message at `key` and removes it, so it is delivered once. On a store that can
   * take atomically (memory, SQLite, Redis, PostgreSQL), the removal is made in the store at once: of
   * two requests racing for one flash, exactly one gets it. On the cookie store it is removed by this
   * response's cookie. Resolves to `undefined` when there is none.
   *
   * @example
   * ```ts
   * const notice = await session.takeFlash('notice') // 'Profile saved', then undefined
   * ```
   */
  takeFlash<K extends Key<Flash>>(key: K): Promise<Value<Flash, K> | undefined>
  /**
   * Keeps the flash messages for one more request: those this request has taken are put back, and
   * those it takes afterwards are read without being removed. Call it when the page that read them
   * redirects again instead of showing them.
   *
   * @example
   * ```ts
   * if (!(await session.has('userId'))) { session.reflash(); return Response.redirect('/login', 303) }
   * ```
   */
  reflash(): void
  /**
   * The live sessions of this session's user (the `userKey` value it holds), newest first, the
   * current one marked. Needs the `userKey` option and a store that lists (not the cookie store).
   */
  listUserSessions(): Promise<UserSession[]>
  /** Ends one session of this session's user, by the handle a listing gave; resolves whether it ended one. */
  revokeUserSession(handle: string): Promise<boolean>
  /**
   * Ends every other session of this session's user ("sign out my other devices"); resolves how
   * many it ended, or `null` where the store cannot count (the cookie store's revocation mark).
   */
  revokeOtherUserSessions(): Promise<number | null>
}

/**
 * One of a user's sessions as a handler lists them ("your devices").
 *
 * @example
 * ```ts
 * for (const device of await session.listUserSessions()) console.log(device.current ? '(this one)' : device.handle, device.userAgent)
 * ```
 */
export interface UserSession extends UserSessionEntry {
  /** Whether it is the session making the request. */
  current: boolean
  /** `info.userAgent`, when `describe` recorded one. */
  userAgent?: string
}

/** What the session learns from its cookie: the id it carries and the session's creation time sealed with it. */
export interface OpenedCookie {
  id: string
  /** When the session was created (epoch ms): the absolute timeout in force now is judged from it. */
  createdAt: number
  /** Sealed under an older key: re-seal it on this response. */
  stale: boolean
  /** The id of the key that opened it (the cookie format's key id, derived from the key by HKDF); absent for a format that names none (actix-session's). */
  keyId?: string
  /** An actix-session cookie read under `actixSession: { write: false }`: move it to cloakroom's format on this response. */
  migrate?: boolean
}

/**
 * Where a request's session came from: see {@link Session.origin}.
 *
 * @example
 * ```ts
 * const origin: SessionOrigin = { createdAt: 1_700_000_000_000, absoluteExpiresAt: null, keyId: 'AbCdEfGh', staleKey: false }
 * ```
 */
export interface SessionOrigin {
  /** When the session was first created (epoch ms); `renew()` keeps it. */
  readonly createdAt: number
  /** When it ends whatever its activity (`absoluteTimeout`), epoch ms; `null` for never. */
  readonly absoluteExpiresAt: number | null
  /**
   * The id of the key that opened the request's cookie: 8 characters the cookie carries in clear,
   * derived from the key by HKDF (it names the key, never reveals it). `null` for a cookie in a
   * format that names no key (an actix-session cookie read under `actixSession`).
   */
  readonly keyId: string | null
  /** The key is not the newest: this response re-seals the cookie under the newest one. */
  readonly staleKey: boolean
}

/** A record the store returned but the manager refused (past the absolute timeout, unreadable): no session. */
export const REFUSED = 'refused'
export type Refused = typeof REFUSED
/** The store failed to load, and `onStoreError: 'anonymous'` asks for an empty session instead. */
export const UNAVAILABLE = 'unavailable'
export type Unavailable = typeof UNAVAILABLE

/** What a session asks of its manager: to open its cookie, to load the record it names, and its user's sessions. */
export interface SessionBackend {
  openCookie(value: string): OpenedCookie | null | Promise<OpenedCookie | null>
  load(id: string): Promise<SessionRecord | null | Refused | Unavailable>
  /** The data key holding the user id; `undefined` when sessions are not filed by user. */
  readonly userKey: string | undefined
  listByUser(userId: string): Promise<UserSessionEntry[]>
  revokeByUser(userId: string, selection: RevokeSelection): Promise<number | null>
  /** The `schema`/`version` rules a loaded record's data goes through; `undefined` for none. */
  readonly dataRules: DataRules | undefined
  /**
   * Removes `key` from the record `id` names and resolves to its value, in one atomic step
   * (`undefined`: not there any more); `null` or absent when the store cannot (the commit then removes it).
   */
  take?(id: string, key: string): Promise<Json | undefined> | null
  readonly logger: Logger
  /**
   * The data of the old session an old cookie names (the `migrateFrom` option), or `null` for none;
   * `UNAVAILABLE` when the old store failed under `onStoreError: 'anonymous'`.
   */
  readMigrated?(oldCookie: string): Promise<Record<string, Json> | null | Unavailable>
}

/**
 * What the manager commits from: the facts of one request's session, read-only, and the three
 * things the manager may ask of it. Only the session's own methods change these facts.
 */
export interface CommitView {
  readonly status: SessionStatus
  /** The raw value of our cookie on the request, if any (an empty `id=` counts). */
  readonly cookieValue: string | undefined
  /** The writes to send to the store, in the contract's order (clear, remove, set). */
  readonly changes: ChangeSet
  /** Whether the handler read the session (the response then varies on Cookie). */
  readonly read: boolean
  /** Whether the record has been loaded (or needs no load: purged). */
  readonly loaded: boolean
  /** The loaded record; `null` when the cookie was absent, invalid, or its record missing. */
  readonly record: SessionRecord | null
  /**
   * Whether the manager refused the record the store returned, or the data came from an old
   * session (`migrateFrom`): the writes then start a fresh session.
   */
  readonly refused: boolean
  /** The old cookie (`migrateFrom`) still to settle: its record claimed or deleted, the cookie cleared. */
  readonly oldCookie: string | undefined
  /** Whether this request's data came from the old session `oldCookie` names (`migrateFrom`). */
  readonly migrated: boolean
  /** The old cookie is settled: later commits of this request leave it alone. */
  settleOldCookie(): void
  /** A store failure met while loading; the response becomes an error even if the handler caught it. */
  readonly error: CloakroomError | undefined
  /** The store failed to load and the handler got an empty session instead (`onStoreError: 'anonymous'`): nothing is written. */
  readonly degraded: boolean
  /** Whether writes are still waiting for the load (an un-awaited `update`, say). */
  readonly settling: boolean
  /** Counts the writes (insert, remove, clear, purge, renew…): a commit notes the one it started from. */
  readonly revision: number
  /** Whether a commit has run and the session was written to since (reads alone do not count). */
  readonly committedOnce: boolean
  readonly changedSinceCommit: boolean
  /** Opens the request's cookie once: synchronous when the crypto is (node:crypto). */
  openCookie(): OpenedCookie | null | Promise<OpenedCookie | null>
  /**
   * Loads the record before a write that never read it, without counting as a read (no `Vary:
   * Cookie`): a versioned session is migrated before the write lands on it.
   */
  loadForWrite(): Promise<void>
  /** Resolves once every write still waiting for the load has run (settled either way). */
  settle(): Promise<void>
  /** Ends the request's writes: a later one throws {@link SessionCommittedError} instead of vanishing. */
  close(): void
  /**
   * A commit that started at `revision` has written the store and sent `cookie` (`null`: cleared;
   * `undefined`: left as it was). A change made after it (after the head left, on node:http) is
   * committed again from here: against the record the client's cookie now names, and without
   * renewing a second time.
   */
  advance(revision: number, cookie: { readonly value: string } | null | undefined): void
}

/** What one request did with its flash messages (the flashes themselves are data under their reserved keys). */
interface FlashState {
  /** The flashes the request took, by their own key, for `reflash()`. */
  taken: Map<string, Json> | undefined
  /** `reflash()` was called: later takes leave their flash in place. */
  reflashed: boolean
}

function emptyChanges(): ChangeSet {
  return { clear: false, set: {}, remove: [] }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const child of Object.values(value)) deepFreeze(child)
    Object.freeze(value)
  }
  return value
}

async function validate(key: string, value: unknown, schema: StandardSchemaV1): Promise<unknown> {
  const result = await schema['~standard'].validate(value)
  if (result.issues) throw new SessionSchemaError(key, result.issues)
  return result.value
}

/** One request's session state, behind a {@link SessionHandle}; the manager sees it as a {@link CommitView}. */
class SessionState implements CommitView {
  status: SessionStatus = SessionStatus.Unchanged
  changes: ChangeSet = emptyChanges()
  read = false
  loaded = false
  record: SessionRecord | null = null
  refused = false
  degraded = false
  error: CloakroomError | undefined
  committed = false
  revision = 0
  /** The {@link revision} the last successful commit started from; `undefined` before any. */
  committedRevision: number | undefined
  /** The current data, valid once `loaded`. */
  data: Record<string, Json> = {}
  /** The stored data as this request reads it (migrated, checked by the schema), before its own writes. */
  base: Record<string, Json> = {}
  /** `onInvalid: 'error'`: the stored values the schema refused, by key, until the request replaces or removes them. */
  invalid: Map<string, readonly { readonly message: string }[]> | undefined
  /** `onInvalid: 'error'`: the issues of a stored record refused as a whole, until the request clears it. */
  invalidRecord: readonly { readonly message: string }[] | undefined
  /** The {@link revision} of the last `renew()`. */
  renewedAt = 0
  /** What the request did with flash messages; `undefined` until it takes or reflashes one. */
  flash: FlashState | undefined
  migrated = false
  #inFlight: Promise<unknown>[] | undefined
  #opened: OpenedCookie | null | Promise<OpenedCookie | null> | undefined
  #loading: Promise<void> | undefined

  constructor(
    readonly backend: SessionBackend,
    public cookieValue: string | undefined,
    public oldCookie: string | undefined,
  ) {}

  settleOldCookie(): void {
    this.oldCookie = undefined
  }

  get settling(): boolean {
    return this.#inFlight !== undefined
  }

  get committedOnce(): boolean {
    return this.committedRevision !== undefined
  }

  get changedSinceCommit(): boolean {
    return this.revision !== this.committedRevision
  }

  advance(revision: number, cookie: { readonly value: string } | null | undefined): void {
    this.committedRevision = revision
    if (cookie === null) {
      this.cookieValue = undefined
      this.#opened = null
    } else if (cookie !== undefined) {
      this.cookieValue = cookie.value
      this.#opened = undefined
      // The cookie now names a live record (created, renewed, or re-created): write to it from now on.
      this.refused = false
    }
    if (this.status === SessionStatus.Renewed && this.renewedAt <= revision) this.status = SessionStatus.Changed
  }

  openCookie(): OpenedCookie | null | Promise<OpenedCookie | null> {
    if (this.#opened === undefined) {
      const opening = this.cookieValue === undefined ? null : this.backend.openCookie(this.cookieValue)
      this.#opened = opening
      if (opening instanceof Promise) opening.then((opened) => void (this.#opened = opened), () => undefined)
    }
    return this.#opened
  }

  async settle(): Promise<void> {
    while (this.#inFlight !== undefined) {
      const waiting = this.#inFlight
      this.#inFlight = undefined
      await Promise.allSettled(waiting)
    }
  }

  close(): void {
    this.committed = true
  }

  /** Throws once the session is committed: a write then could never be stored. */
  writable(call: string): void {
    if (this.committed) throw new SessionCommittedError(call)
  }

  track<T>(operation: Promise<T>): Promise<T> {
    ;(this.#inFlight ??= []).push(operation)
    return operation
  }

  set(key: string, value: Json): void {
    defineOwn(this.changes.set, key, value)
    if (this.loaded) defineOwn(this.data, key, value)
    this.invalid?.delete(key)
    this.markChanged()
  }

  /** Under the `version` option its key is the library's, and flash keys are `flash()`'s: a write to one is refused, naming why. */
  refuseReserved(key: string): void {
    refuseFlashKey(key)
    if (key === VERSION_KEY && this.backend.dataRules?.version !== undefined) {
      throw new SessionValueError(key, `cloakroom: the key ${VERSION_KEY} holds the data's version (the version option) and cannot be written`)
    }
  }

  /** Throws the {@link SessionSchemaError} of a stored value the schema refused, when reading `key` would read it. */
  checkRead(key: string): void {
    const issues = this.invalid?.get(key)
    if (issues !== undefined) throw new SessionSchemaError(key, issues)
    if (this.invalidRecord !== undefined && !Object.hasOwn(this.changes.set, key) && !this.changes.remove.includes(key)) {
      throw new SessionSchemaError(key, this.invalidRecord, true)
    }
  }

  /** Throws when any stored value the request still sees was refused by the schema. */
  checkReadAll(): void {
    if (this.invalidRecord !== undefined) throw new SessionSchemaError('', this.invalidRecord, true)
    for (const key of this.invalid?.keys() ?? []) this.checkRead(key)
  }

  /** The request's writes forget the schema's verdict on what they replace. */
  forgetInvalid(): void {
    this.invalid = undefined
    this.invalidRecord = undefined
  }

  markChanged(): void {
    this.revision++
    if (this.status === SessionStatus.Unchanged) this.status = SessionStatus.Changed
  }

  load(): Promise<void> {
    this.read = true
    return this.loadForWrite()
  }

  loadForWrite(): Promise<void> {
    if (this.loaded) return Promise.resolve()
    this.#loading ??= this.#fetch()
    return this.#loading
  }

  async #fetch(): Promise<void> {
    let record: SessionRecord | null = null
    let oldData: Record<string, Json> | undefined
    try {
      const opening = this.openCookie()
      const opened = opening instanceof Promise ? await opening : opening
      const loaded = opened === null ? null : await this.backend.load(opened.id)
      if (loaded === REFUSED) this.refused = true
      else if (loaded === UNAVAILABLE) this.degraded = true
      else record = loaded
      if (record === null && !this.degraded && this.oldCookie !== undefined && this.backend.readMigrated !== undefined) {
        const old = await this.backend.readMigrated(this.oldCookie)
        if (old === UNAVAILABLE) this.degraded = true
        else if (old !== null) oldData = old
      }
    } catch (error) {
      this.error = error instanceof StoreError ? error : new StoreError('backend', 'the session store failed to load a session', { cause: error })
      this.#loading = undefined
      throw this.error
    }
    if (this.loaded) return // purged while loading: the purge decides
    const rules = this.backend.dataRules
    const stored = record?.data ?? oldData
    if (stored !== undefined && rules !== undefined) {
      // Flashes are set apart while the data rules run: a schema or migrate sees the data alone.
      // Old data reads as a record written before `version` was set: `migrate` brings it forward.
      const split = splitFlashes(stored)
      const read = await readData(split?.data ?? stored, rules, (message) => this.backend.logger.warn(message))
      if (this.loaded) return
      this.#take(read)
      // A record the rules refuse whole is cleared at the next write, flashes included.
      if (split !== undefined && !this.changes.clear) this.base = { ...this.base, ...split.flashes }
    } else {
      // Without data rules, flashes stay in the data under their reserved keys: a session without
      // flashes pays nothing here, and reads hide those keys.
      this.base = stored ?? {}
    }
    if (oldData !== undefined) this.#adopt()
    this.record = record
    this.data = applyChanges(this.base, this.changes)
    // The migration writes the version with the data; reads never see it.
    if (rules?.version !== undefined) delete this.data[VERSION_KEY]
    this.loaded = true
  }

  /** Records a flash message: a write of its reserved data key. */
  setFlash(key: string, value: Json): void {
    this.set(FLASH_PREFIX + key, value)
  }

  /**
   * Takes the flash at `key`, once. A flash this request wrote is simply dropped; a stored one is
   * taken by the store in one atomic step where the store can (so a racing request cannot take it
   * too), and otherwise removed at this request's commit.
   */
  async takeFlash(key: string): Promise<Json | undefined> {
    await this.load()
    const field = FLASH_PREFIX + key
    const { data, changes } = this
    if (this.status === SessionStatus.Purged || !Object.hasOwn(data, field)) return undefined
    const value = data[field] as Json
    if (this.flash?.reflashed === true) return value
    delete data[field]
    const own = Object.hasOwn(changes.set, field)
    delete changes.set[field]
    const taking = own ? null : await this.#takeStored(field)
    if (taking === null) {
      // This request's own flash, or a store that cannot take: the removal goes with the commit
      // (an own flash may have replaced a stored one under the same key, which goes too).
      if (!changes.remove.includes(field)) changes.remove.push(field)
    } else if (taking.value === undefined) {
      // Another request took it first, or the session ended meanwhile: not delivered here.
      return undefined
    }
    const delivered = taking === null ? value : (taking.value as Json)
    ;((this.flash ??= { taken: undefined, reflashed: false }).taken ??= new Map()).set(key, delivered)
    this.markChanged()
    return delivered
  }

  /** The store's atomic take of a stored flash, or `null` when the store has none (the cookie store). */
  async #takeStored(field: string): Promise<{ value: Json | undefined } | null> {
    const opening = this.openCookie()
    const opened = opening instanceof Promise ? await opening : opening
    if (opened === null || this.refused) return null
    const taking = this.backend.take?.(opened.id, field) ?? null
    if (taking === null) return null
    try {
      return { value: await taking }
    } catch (error) {
      // As for a failed load: the response becomes the store error even if the handler catches it.
      this.error = error instanceof StoreError ? error : new StoreError('backend', 'the session store failed to take a flash message', { cause: error })
      throw this.error
    }
  }

  /**
   * Makes the old session's data (as the data rules read it) this request's writes, under the
   * writes it already made, so that the commit stores it in a fresh session.
   */
  #adopt(): void {
    const { changes } = this
    this.migrated = true
    this.refused = true
    if (changes.clear) return
    for (const key of Object.keys(this.base)) {
      if (!Object.hasOwn(changes.set, key) && !changes.remove.includes(key)) defineOwn(changes.set, key, this.base[key] as Json)
    }
    this.markChanged()
  }

  /**
   * Takes what the data rules made of the stored record, under the writes the request already made
   * (which win): refused values to throw on, dropped ones to remove at the next write, and the
   * migration to write at this commit.
   */
  #take(read: ReadData): void {
    const { changes } = this
    const untouched = (key: string): boolean => !changes.clear && !Object.hasOwn(changes.set, key) && !changes.remove.includes(key)
    this.base = read.data
    for (const [key, issues] of read.invalid) if (untouched(key)) (this.invalid ??= new Map()).set(key, issues)
    if (read.invalidRecord !== undefined && !changes.clear) this.invalidRecord = read.invalidRecord
    // Dropped values join the removals without marking the session changed: they go at its next write.
    for (const key of read.dropped) if (untouched(key)) changes.remove.push(key)
    if (read.dropAll) changes.clear = true
    if (read.migration !== undefined && !changes.clear) {
      for (const key of read.migration.remove) if (untouched(key)) changes.remove.push(key)
      for (const key of Object.keys(read.migration.set)) if (untouched(key)) defineOwn(changes.set, key, read.migration.set[key] as Json)
      this.markChanged()
    }
  }
}

/**
 * The one implementation of {@link Session}: the user's API over one request's state. Its method
 * signatures are the interface's, so the compiler checks them; the one assumption is that stored
 * values have the types `Data` declares (see {@link SessionHandle.typed}).
 *
 * @internal
 */
export class SessionHandle<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash> implements Session<Data, Flash> {
  readonly #state: SessionState

  constructor(backend: SessionBackend, cookieValue: string | undefined, oldCookie?: string) {
    this.#state = new SessionState(backend, cookieValue, oldCookie)
  }

  /**
   * The state the manager commits from, for a session that `backend` began; `undefined` for any
   * other object (a session of another manager, or something that only looks like one).
   */
  static commitView(session: unknown, backend: SessionBackend): CommitView | undefined {
    return typeof session === 'object' && session !== null && #state in session && session.#state.backend === backend ? session.#state : undefined
  }

  /** The store failure a session met while loading, if `session` is one. */
  static failureOf(session: unknown): CloakroomError | undefined {
    return typeof session === 'object' && session !== null && #state in session ? session.#state.error : undefined
  }

  // The trust boundary: values come from the store as JSON and are taken to be what `Data` declares.
  private static typed<T>(value: unknown): T {
    return value as T
  }

  get status(): SessionStatus {
    return this.#state.status
  }

  async origin(): Promise<SessionOrigin | null> {
    const state = this.#state
    await state.load()
    const opened = await state.openCookie()
    if (state.record === null || opened === null) return null
    const { createdAt, absoluteExpiresAt } = state.record
    return { createdAt, absoluteExpiresAt, keyId: opened.keyId ?? null, staleKey: opened.stale }
  }

  get<K extends Key<Data>>(key: K): Promise<Value<Data, K> | undefined>
  get<S extends StandardSchemaV1>(key: string, schema: S): Promise<StandardSchemaV1.InferOutput<S> | undefined>
  async get(key: string, schema?: StandardSchemaV1): Promise<unknown> {
    const state = this.#state
    await state.load()
    state.checkRead(key)
    const value = Object.hasOwn(state.data, key) && !isFlashKey(key) ? state.data[key] : undefined
    return schema === undefined || value === undefined ? value : validate(key, value, schema)
  }

  async has(key: Key<Data>): Promise<boolean> {
    await this.#state.load()
    this.#state.checkRead(key)
    return Object.hasOwn(this.#state.data, key) && !isFlashKey(key)
  }

  async entries(): Promise<Readonly<Partial<Data>>> {
    await this.#state.load()
    this.#state.checkReadAll()
    return SessionHandle.typed(deepFreeze(withoutFlashes(JSON.parse(JSON.stringify(this.#state.data)) as Record<string, Json>)))
  }

  insert<K extends Key<Data>>(key: K, value: Value<Data, K>): void {
    const state = this.#state
    state.writable('insert')
    state.refuseReserved(key)
    if (state.status === SessionStatus.Purged) return
    state.set(key, toJsonValue(key, value))
  }

  update<K extends Key<Data>>(key: K, fn: (old: Value<Data, K>) => Value<Data, K>): Promise<void> {
    const state = this.#state
    state.writable('update')
    state.refuseReserved(key)
    return state.track(
      state.load().then(() => {
        if (state.status === SessionStatus.Purged) return
        state.checkRead(key)
        if (!Object.hasOwn(state.data, key)) return
        state.set(key, toJsonValue(key, fn(SessionHandle.typed(state.data[key]))))
      }),
    )
  }

  updateOr<K extends Key<Data>>(key: K, initial: Value<Data, K>, fn: (old: Value<Data, K>) => Value<Data, K>): Promise<void> {
    const state = this.#state
    state.writable('updateOr')
    state.refuseReserved(key)
    return state.track(
      state.load().then(() => {
        if (state.status === SessionStatus.Purged) return
        state.checkRead(key)
        const next = Object.hasOwn(state.data, key) ? fn(SessionHandle.typed(state.data[key])) : initial
        state.set(key, toJsonValue(key, next))
      }),
    )
  }

  remove<K extends Key<Data>>(key: K): Promise<Value<Data, K> | undefined> {
    return this.#remove(key, 'remove').then((old) => SessionHandle.typed(old))
  }

  async removeAs<S extends StandardSchemaV1>(key: string, schema: S): Promise<StandardSchemaV1.InferOutput<S> | undefined> {
    const old = await this.#remove(key, 'removeAs')
    return old === undefined ? undefined : SessionHandle.typed(await validate(key, old, schema))
  }

  clear(): void {
    const state = this.#state
    state.writable('clear')
    if (state.status === SessionStatus.Purged) return
    state.changes = { clear: true, set: {}, remove: [] }
    state.data = {}
    state.forgetInvalid()
    state.markChanged()
  }

  purge(): void {
    const state = this.#state
    state.writable('purge')
    state.revision++
    state.status = SessionStatus.Purged
    state.changes = emptyChanges()
    state.data = {}
    state.flash = undefined
    state.forgetInvalid()
    state.loaded = true
  }

  renew(): void {
    const state = this.#state
    state.writable('renew')
    if (state.status === SessionStatus.Purged) return
    state.status = SessionStatus.Renewed
    state.renewedAt = ++state.revision
  }

  flash<K extends Key<Flash>>(key: K, value: Value<Flash, K>): void {
    const state = this.#state
    state.writable('flash')
    if (state.status === SessionStatus.Purged) return
    state.setFlash(key, toJsonValue(key, value))
  }

  takeFlash<K extends Key<Flash>>(key: K): Promise<Value<Flash, K> | undefined> {
    const state = this.#state
    state.writable('takeFlash')
    if (state.status === SessionStatus.Purged) return Promise.resolve(undefined)
    return state.track(state.takeFlash(key)).then((value) => SessionHandle.typed(value))
  }

  reflash(): void {
    const state = this.#state
    state.writable('reflash')
    if (state.status === SessionStatus.Purged) return
    const flash = (state.flash ??= { taken: undefined, reflashed: false })
    flash.reflashed = true
    const taken = flash.taken
    flash.taken = undefined
    for (const [key, value] of taken ?? []) state.setFlash(key, value)
  }

  async listUserSessions(): Promise<UserSession[]> {
    const user = await this.#user('listUserSessions')
    if (user === undefined) return []
    const current = this.#state.record?.owner?.handle
    const listed = await this.#state.backend.listByUser(user)
    return listed.map((entry) => {
      const session: UserSession = { ...entry, current: entry.handle === current }
      if (entry.info.userAgent !== undefined) session.userAgent = entry.info.userAgent
      return session
    })
  }

  async revokeUserSession(handle: string): Promise<boolean> {
    const user = await this.#user('revokeUserSession')
    if (user === undefined) return false
    return (await this.#state.backend.revokeByUser(user, { handles: [handle] })) !== 0
  }

  async revokeOtherUserSessions(): Promise<number | null> {
    const user = await this.#user('revokeOtherUserSessions')
    if (user === undefined) return 0
    // Only a session filed under this very user is spared; one not filed yet (a login in this
    // request) is filed at commit, after the revocation.
    const owner = this.#state.record?.owner
    return this.#state.backend.revokeByUser(user, { except: owner?.userId === user ? owner.handle : undefined })
  }

  /** The user this session belongs to as the handler sees it (its writes included), after loading. */
  async #user(call: string): Promise<string | undefined> {
    const state = this.#state
    const { userKey } = state.backend
    if (userKey === undefined) throw new ConfigError(`session.${call}() needs the userKey option: the session key that holds the user id, e.g. userKey: 'userId'`)
    await state.load()
    const user = Object.hasOwn(state.data, userKey) ? state.data[userKey] : undefined
    return typeof user === 'string' ? user : undefined
  }

  #remove(key: string, call: string): Promise<Json | undefined> {
    const state = this.#state
    state.writable(call)
    state.refuseReserved(key)
    if (state.status === SessionStatus.Purged) return Promise.resolve(undefined)
    // A value the schema refused is no old value: removing it is how the app gets rid of it.
    state.invalid?.delete(key)
    const { changes } = state
    // The old value is the value at the moment of the call; when only the store knows it, it is
    // read from the loaded record (this removal and later writes do not affect that copy).
    let old: Promise<Json | undefined>
    const loaded = state.loaded
    if (loaded) {
      old = Promise.resolve(Object.hasOwn(state.data, key) ? state.data[key] : undefined)
      delete state.data[key]
    } else if (Object.hasOwn(changes.set, key)) {
      old = Promise.resolve(changes.set[key])
    } else if (changes.clear || changes.remove.includes(key)) {
      old = Promise.resolve(undefined)
    } else {
      // Read as the request reads it: migrated and checked by the schema (a refused value reads as none).
      old = state.load().then(() => (Object.hasOwn(state.base, key) ? state.base[key] : undefined))
    }
    delete changes.set[key]
    if (!changes.remove.includes(key)) changes.remove.push(key)
    state.markChanged()
    return loaded ? old : state.track(old)
  }
}
