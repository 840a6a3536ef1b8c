import { setCookieWriter, readCookie, type SetCookieWriter } from '../cookie/session-cookie.js'
import { keyIdOf } from '../crypto/format.js'
import type { CookieSealer, CryptoProvider, OpenedValue, SealerOptions } from '../crypto/types.js'
import { applyChanges } from './change-set.js'
import { commitPurgeOnly, commitsAt } from './commit-rule.js'
import type { ResponseView, SessionEngine } from './engine.js'
import { CloakroomError, ConfigError, CookieTooLargeError, StoreError } from './errors.js'
import { MAX_VALUE_DEPTH, tooDeep } from './json-value.js'
import { fingerprint, type Logger } from './logger.js'
import { resolveOptions, type ResolvedOptions, type SessionOptions } from './options.js'
import type { RegisteredData, RegisteredFlash } from './register.js'
import { commitToResponse, markNoStore, serverErrorResponse, varyOnCookie } from './response-headers.js'
import { REFUSED, SessionHandle, UNAVAILABLE, type CommitView, type OpenedCookie, type Refused, type Session, type SessionBackend, type Unavailable } from './session.js'
import { SessionEmitter, type RefusedReason, type SessionEventMap } from './events.js'
import { SessionStatus } from './status.js'
import { VERSION_KEY, type DataRules } from './data-rules.js'
import { EXPIRED, GONE, RENEWED, type ChangeSet, type Missing, type RevokeSelection, type SessionOwner, type SessionRecord, type UserSessionEntry } from './store.js'
import { enforceSessionLimit, ownerChange, ownerOfNew, withOwner } from './accounts.js'
import type { Json, JsonShape } from './json.js'
import { readOldSession, type SessionMigration } from './migration.js'
import { actixSeam } from '../actix/manager-seam.js'
import type { ActixCookies } from '../actix/cookie-codec.js'
import { LazySealer } from '../crypto/lazy-sealer.js'

/** Browsers drop a `Set-Cookie` line longer than this (name, value and attributes). */
const MAX_SET_COOKIE_BYTES = 4096
/** A cookie longer than this cannot be ours; it is refused before any crypto runs. */
const MAX_COOKIE_VALUE = 4096

/**
 * The session manager: one per app. `handle()` serves a fetch-style request; the framework
 * middlewares are built on `begin` / `pending` / `commit`.
 *
 * @example
 * ```ts
 * const manager = createSessionManager<{ visits?: number }>({ store: new CookieStore(), keys: [process.env.SESSION_KEY!] })
 * export default {
 *   fetch: (request: Request) => manager.handle(request, async (session) => {
 *     const visits = (await session.get('visits')) ?? 0
 *     session.insert('visits', visits + 1)
 *     return new Response(`visit ${visits + 1}`)
 *   }),
 * }
 * ```
 */
export interface SessionManager<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash> extends SessionEngine<Data> {
  /**
   * Runs `handler` with the request's session and returns its response with the session
   * committed: cookie set or cleared, `Cache-Control` and `Vary` merged, or an error response if
   * the store failed. The response's status decides, as for every adapter: below 500 the session
   * commits, from 500 only a `purge()` does. A handler that throws has its error propagate and
   * nothing committed, except a purge: the record is deleted before the error is rethrown (there is
   * no response to carry the removal cookie).
   */
  handle(request: Request, handler: (session: Session<Data, Flash>) => Response | Promise<Response>): Promise<Response>
  /**
   * The live sessions filed under `userId` (see the `userKey` option), newest first: for an admin
   * panel or a job outside a request. Throws a `ConfigError` where the store cannot list (the cookie store).
   */
  listUserSessions(userId: string): Promise<UserSessionEntry[]>
  /**
   * Ends every session of `userId` but the one whose handle is `except` (after a password reset,
   * say); resolves how many it ended, or `null` where the store cannot count (the cookie store,
   * which revokes through its revocation list: sessions created before now stop loading).
   */
  revokeUserSessions(userId: string, options?: { except?: string }): Promise<number | null>
  /**
   * Listens to one kind of session event (as the `events` option does); returns a function that
   * stops listening. A listener that throws is logged and never breaks a request.
   */
  on<E extends keyof SessionEventMap>(name: E, listener: (event: SessionEventMap[E]) => void): () => void
}

type Outcome = { kind: 'none' } | { kind: 'remove' } | { kind: 'set'; value: string; createdAt: number }

const NONE: Outcome = { kind: 'none' }
const REMOVE: Outcome = { kind: 'remove' }

// The sealed plaintext of every cookie: '~', the session's createdAt (base 36), a dot, the store's
// id. Carrying createdAt lets the absolute timeout in force *now* refuse an old cookie without a
// store call, and cap a persistent cookie's Max-Age without loading the record.
function plaintextOf(id: string, createdAt: number): string {
  return `~${createdAt.toString(36)}.${id}`
}

// The canonical form only (lowercase, no leading zero, no sign), as `toString(36)` writes it.
const BASE36 = /^(?:0|[1-9a-z][0-9a-z]{0,10})$/

function base36(text: string): number | null {
  if (!BASE36.test(text)) return null
  const value = parseInt(text, 36)
  return Number.isSafeInteger(value) ? value : null
}

/**
 * The id and createdAt a sealed plaintext carries. Cookies sealed before createdAt was carried hold
 * their absolute deadline instead ('-' for none); they are read with the deadline as a bound and a
 * createdAt estimated from it (the record's own createdAt still decides at load).
 */
function parsePlaintext(plaintext: string, absoluteTimeoutMs: number | null, now: number): { id: string; createdAt: number } | null {
  const dot = plaintext.indexOf('.')
  if (dot < 1) return null
  const head = plaintext.slice(0, dot)
  const id = plaintext.slice(dot + 1)
  if (head.startsWith('~')) {
    const createdAt = base36(head.slice(1))
    return createdAt === null ? null : { id, createdAt }
  }
  if (head === '-') return { id, createdAt: now }
  const deadline = base36(head)
  if (deadline === null || deadline <= now) return null
  return { id, createdAt: Math.min(now, deadline - (absoluteTimeoutMs ?? 0)) }
}

/**
 * The store failure a session met while loading, if any. An adapter whose handler threw uses it
 * to tell the session's own failure (answered like any store error) from the handler's errors.
 *
 * @example
 * ```ts
 * if (thrown === sessionFailure(session)) return manager.commit(session, { status: 500, headers })
 * ```
 */
export function sessionFailure(session: Session<object>): CloakroomError | undefined {
  return SessionHandle.failureOf(session)
}

/**
 * The manager, parameterised by the crypto implementation the entry point picked.
 *
 * @internal
 */
export class Manager<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>
  implements SessionManager<Data, Flash>, SessionBackend
{
  readonly options: ResolvedOptions
  readonly #cookies: SetCookieWriter
  readonly #provider: CryptoProvider
  readonly #events: SessionEmitter
  readonly #sealer = new LazySealer(() => this.#provider.createSealer(this.#sealerOptions()))
  /** The actix-session cookie format, under the `actixSession` option. */
  readonly #actix: ActixCookies | undefined

  constructor(options: SessionOptions<Data>, provider: CryptoProvider) {
    const resolved = resolveOptions(options)
    const actix = actixSeam(resolved, provider)
    this.options = actix === undefined ? resolved : { ...resolved, store: actix.store }
    this.#actix = actix?.cookies
    this.#cookies = setCookieWriter(this.options.cookie)
    this.#provider = provider
    this.#events = new SessionEmitter(this.options.events, this.options.logger)
  }

  on<E extends keyof SessionEventMap>(name: E, listener: (event: SessionEventMap[E]) => void): () => void {
    return this.#events.on(name, listener)
  }

  begin(cookieHeader: string | null | undefined): Session<Data> {
    const { migration } = this.options
    const old = migration === undefined ? undefined : readCookie(cookieHeader, migration.cookieName)
    return new SessionHandle<Data>(this, readCookie(cookieHeader, this.options.cookie.name), old)
  }

  pending(session: Session<Data>): boolean {
    const state = this.#view(session)
    if (state.committedOnce) return state.changedSinceCommit
    return (
      state.status !== SessionStatus.Unchanged ||
      state.oldCookie !== undefined ||
      state.read ||
      (this.options.extendOn === 'every-request' && state.cookieValue !== undefined) ||
      this.#movesFormat(state.cookieValue)
    )
  }

  async commit(session: Session<Data>, response: ResponseView, request?: Request): Promise<Response | null> {
    const state = this.#view(session)
    // An un-awaited update() or remove() is still part of this request: wait for it, then close the
    // session so that a later write throws instead of vanishing.
    if (state.settling) await state.settle()
    if (response.final !== false) state.close()
    if (!state.error && !state.degraded && commitsAt(response.status, state) && (this.#migratesFirst(state) || state.oldCookie !== undefined)) {
      // A versioned record is brought to the current version before a write that never read it lands
      // on it; an old cookie (migrateFrom) is read before deciding between migrating and discarding it.
      await state.loadForWrite().catch(() => undefined)
    }
    if (state.error) return this.#fail(state.error, request)
    if (state.degraded) return this.#degraded(state, response)
    // A failed response commits nothing but a purge (commit-rule.ts says why).
    if (!commitsAt(response.status, state)) return null
    // Taken before the store is called: a change made while the commit runs is committed again later.
    const revision = state.revision
    let outcome: Outcome
    try {
      const oldCookie = state.oldCookie
      const old = oldCookie === undefined ? 'none' : await this.#settleOldCookie(state, oldCookie, response)
      outcome = old === 'lost' ? NONE : await this.#persist(state, request)
      if (old === 'migrated' && outcome.kind === 'set' && this.#events.has('migrated')) this.#events.emit('migrated', { at: Date.now() })
      if (outcome.kind === 'set') {
        const line = this.#cookies.session(outcome.value, this.#maxAge(outcome.createdAt))
        if (line.length > MAX_SET_COOKIE_BYTES) throw new CookieTooLargeError(line.length)
        response.headers.append('set-cookie', line)
      } else if (outcome.kind === 'remove') {
        response.headers.append('set-cookie', this.#cookies.removal)
      }
    } catch (error) {
      return this.#fail(error, request)
    }
    state.advance(revision, outcome.kind === 'none' ? undefined : outcome.kind === 'remove' ? null : outcome)
    if (outcome.kind !== 'none') markNoStore(response.headers)
    if (state.read) varyOnCookie(response.headers)
    return null
  }

  get logger(): Logger {
    return this.options.logger
  }

  /** Under `actixSession`, whether the request carries a cookie in the format not written, whose session moves over. */
  #movesFormat(value: string | undefined): boolean {
    return this.#actix !== undefined && this.#actix.moves(value)
  }

  get dataRules(): DataRules | undefined {
    return this.options.dataRules
  }

  /**
   * Settles the request's old cookie (`migrateFrom`): claims, that is deletes, the record it names
   * and clears it. `'lost'` when the request's writes hold the old session's data and another
   * request claimed that session first: they are dropped, so that exactly one new session gets it.
   * A store failure rejects (the request gets the error response; the old cookie stays).
   */
  async #settleOldCookie(state: CommitView, oldCookie: string, response: ResponseView): Promise<'migrated' | 'lost' | 'discarded'> {
    const migration = this.options.migration as SessionMigration
    const claimed = await migration.claim(oldCookie)
    state.settleOldCookie()
    response.headers.append('set-cookie', migration.removal)
    markNoStore(response.headers)
    if (!state.migrated) return 'discarded'
    if (claimed) return 'migrated'
    this.options.logger.debug("cloakroom: another request migrated this old session first; this request's changes were dropped")
    return 'lost'
  }

  /** Whether a write is about to land on a record this request has not loaded, under the `version` option. */
  #migratesFirst(state: CommitView): boolean {
    const writes = state.status === SessionStatus.Changed || state.status === SessionStatus.Renewed
    return writes && !state.loaded && this.options.dataRules?.version !== undefined
  }

  /** The change set with the data's version added where the commit would otherwise leave a record without it (a clear). */
  #withVersion(changes: ChangeSet): ChangeSet {
    const version = this.options.dataRules?.version
    if (version === undefined || !changes.clear || Object.hasOwn(changes.set, VERSION_KEY)) return changes
    return { ...changes, set: { ...changes.set, [VERSION_KEY]: version } }
  }

  /** A session whose store failed to load under `onStoreError: 'anonymous'`: nothing is written. */
  #degraded(state: CommitView, response: ResponseView): null {
    if (state.status !== SessionStatus.Unchanged) {
      this.options.logger.warn('cloakroom: the session store was unavailable when this request loaded its session; its changes were not stored')
    }
    if (state.read) varyOnCookie(response.headers)
    return null
  }

  failureResponse(session: Session<Data>, thrown: unknown, request?: Request): Promise<Response> | null {
    const state = this.#view(session)
    if (state.error === undefined || state.error !== thrown) return null
    state.close()
    return this.#fail(state.error, request)
  }

  /** The state of a session this manager began; anything else is a programming error, said at once. */
  #view(session: Session<Data>): CommitView {
    const view = SessionHandle.commitView(session, this)
    if (view === undefined) throw new TypeError('cloakroom: this session was not begun by this manager; pass the session that manager.begin() returned')
    return view
  }

  async handle(request: Request, handler: (session: Session<Data, Flash>) => Response | Promise<Response>): Promise<Response> {
    const session = this.begin(request.headers.get('cookie'))
    let response: Response
    try {
      response = await handler(session as unknown as Session<Data, Flash>)
    } catch (error) {
      // The session's own store failure, left uncaught by the handler, gets the same opaque
      // answer as one it caught; any other throw is the handler's and goes on to the caller.
      const failure = this.failureResponse(session, error, request)
      if (failure !== null) return failure
      await commitPurgeOnly(this, session, request)
      throw error
    }
    return commitToResponse(this, session, response, request)
  }

  listUserSessions(userId: string): Promise<UserSessionEntry[]> {
    return this.listByUser(userId)
  }

  revokeUserSessions(userId: string, options: { except?: string } = {}): Promise<number | null> {
    return this.revokeByUser(userId, options.except === undefined ? {} : { except: options.except })
  }

  // SessionBackend: what a session asks of its manager.

  get userKey(): string | undefined {
    return this.options.userKey
  }

  take(id: string, key: string): Promise<Json | undefined> | null {
    const { store } = this.options
    return store.take === undefined ? null : store.take(id, key)
  }

  listByUser(userId: string): Promise<UserSessionEntry[]> {
    const { store } = this.options
    if (store.listByUser === undefined) {
      return Promise.reject(
        new ConfigError(
          "this store cannot list a user's sessions (the cookie store keeps no server-side state): use a server store (memory, SQLite, Redis, PostgreSQL) to show a user's devices",
        ),
      )
    }
    return store.listByUser(userId)
  }

  revokeByUser(userId: string, selection: RevokeSelection): Promise<number | null> {
    const { store } = this.options
    if (store.revokeByUser === undefined) {
      return Promise.reject(
        new ConfigError(
          "this store cannot revoke a user's sessions: give the cookie store a revocation list (new CookieStore({ revocations: serverStore.revocationList() })), or use a server store",
        ),
      )
    }
    return store.revokeByUser(userId, selection)
  }

  openCookie(value: string): OpenedCookie | null | Promise<OpenedCookie | null> {
    if (value.length === 0 || value.length > MAX_COOKIE_VALUE) {
      if (value.length > 0) this.#refused('oversized', value, 'an oversized session cookie')
      return null
    }
    if (this.#actix?.claims(value)) return this.#openActix(this.#actix, value)
    // node:crypto answers synchronously: no promise on this path unless the provider needs one.
    const sealer = this.#sealerNow()
    if (sealer instanceof Promise) return sealer.then((ready) => ready.open(value)).then((opened) => this.#own(value, opened))
    const opened = sealer.open(value)
    return opened instanceof Promise ? opened.then((settled) => this.#own(value, settled)) : this.#own(value, opened)
  }

  /** A cookie in cloakroom's format; under `actixSession` (writing actix-session's format), one to move over. */
  #own(value: string, opened: OpenedValue | null): OpenedCookie | null {
    const verified = this.#verified(value, opened)
    return this.#actix === undefined ? verified : this.#actix.foreign(verified)
  }

  #openActix(actix: ActixCookies, value: string): OpenedCookie | null | Promise<OpenedCookie | null> {
    const checked = (opened: OpenedCookie | null): OpenedCookie | null => {
      if (opened === null) this.#refused('invalid', value, 'an actix-session cookie that did not verify')
      return opened
    }
    const opening = actix.open(value)
    return opening instanceof Promise ? opening.then(checked) : checked(opening)
  }

  #verified(value: string, opened: OpenedValue | null): OpenedCookie | null {
    const { logger, absoluteTimeoutMs } = this.options
    const now = Date.now()
    const parsed = opened === null ? null : parsePlaintext(opened.plaintext, absoluteTimeoutMs, now)
    if (opened === null || parsed === null) {
      this.#refused('invalid', value, 'a session cookie that did not verify')
      return null
    }
    if (this.#pastAbsolute(parsed.createdAt, now)) {
      logger.debug(`cloakroom: ignored a session cookie past its absolute timeout [${fingerprint(value)}]`)
      this.#events.emit('expired', { at: now, cause: 'absolute' })
      return null
    }
    // The value opened, so the key its key id names is the one that opened it.
    return { id: parsed.id, createdAt: parsed.createdAt, stale: opened.stale, keyId: keyIdOf(value) }
  }

  async load(id: string): Promise<SessionRecord | null | Refused | Unavailable> {
    let record: SessionRecord | null
    try {
      record = await this.options.store.load(id)
    } catch (error) {
      return this.#unavailable(error, 'the session store failed to load a session')
    }
    if (record === null) return null
    // The absolute timeout in force now decides, from createdAt; the record's own deadline (set
    // under the configuration of its creation) can only end it sooner.
    const now = Date.now()
    if (this.#pastAbsolute(record.createdAt, now) || (record.absoluteExpiresAt !== null && record.absoluteExpiresAt <= now)) {
      this.#events.emit('expired', { at: now, cause: 'absolute' })
      return REFUSED
    }
    // Unreadable, like a record a store cannot decode: reading it whole could overflow the stack.
    if (tooDeep(record.data)) {
      this.options.logger.debug(`cloakroom: ignored a stored session nested more than ${MAX_VALUE_DEPTH} levels deep`)
      if (this.#events.has('refused')) this.#events.emit('refused', { at: now, reason: 'unreadable', fingerprint: fingerprint(id) })
      return REFUSED
    }
    return record
  }

  async readMigrated(oldCookie: string): Promise<Record<string, Json> | null | Unavailable> {
    try {
      return await readOldSession(this.options.migration as SessionMigration, oldCookie, this.options.logger)
    } catch (error) {
      return this.#unavailable(error, 'the old session store (migrateFrom) failed to read a session')
    }
  }

  /** A store that failed to load: rethrown, or under `onStoreError: 'anonymous'` reported and answered with an empty session. */
  #unavailable(error: unknown, what: string): Unavailable {
    if (this.options.onStoreError !== 'anonymous') throw error
    const failure = error instanceof StoreError ? error : new StoreError('backend', what, { cause: error })
    this.options.logger.error(`${failure.message} (${failure.kind}); serving an empty session (onStoreError: 'anonymous')`)
    this.#events.emit('storeError', { at: Date.now(), error: failure })
    return UNAVAILABLE
  }

  #refused(reason: RefusedReason, value: string, what: string): void {
    const print = fingerprint(value)
    this.options.logger.debug(`cloakroom: ignored ${what} [${print}]`)
    this.#events.emit('refused', { at: Date.now(), reason, fingerprint: print })
  }

  #pastAbsolute(createdAt: number, now: number): boolean {
    const { absoluteTimeoutMs } = this.options
    return absoluteTimeoutMs !== null && createdAt + absoluteTimeoutMs <= now
  }

  /** The idle window for a store write, capped at the life the session has left under the current absolute timeout. */
  #ttlFor(createdAt: number): number {
    const { ttlMs, absoluteTimeoutMs } = this.options
    if (absoluteTimeoutMs === null) return ttlMs
    return Math.max(1, Math.min(ttlMs, createdAt + absoluteTimeoutMs - Date.now()))
  }

  /** The sealer, created on first use; once a WebCrypto sealer is ready, the ready one itself. */
  #sealerNow(): CookieSealer | Promise<CookieSealer> {
    return this.#sealer.get()
  }

  #seal(id: string, createdAt: number): string | Promise<string> {
    if (this.#actix?.writes) return this.#actix.seal(id)
    const sealer = this.#sealerNow()
    const plaintext = plaintextOf(id, createdAt)
    return sealer instanceof Promise ? sealer.then((ready) => ready.seal(plaintext)) : sealer.seal(plaintext)
  }

  #sealerOptions(): SealerOptions {
    const { keys, contentSecurity, cookie, cookieCache } = this.options
    return { keys, mode: contentSecurity, cookieName: cookie.name, openedCache: cookieCache }
  }

  /** Max-Age for a persistent cookie: the idle window, capped at the life the session has left. */
  #maxAge(createdAt: number): number | undefined {
    const { persistent, ttlMs, absoluteTimeoutMs } = this.options
    if (!persistent) return undefined
    const ttl = ttlMs / 1000
    if (absoluteTimeoutMs === null) return ttl
    return Math.max(0, Math.min(ttl, Math.floor((createdAt + absoluteTimeoutMs - Date.now()) / 1000)))
  }

  /** The store calls of the response decision table (docs/design-notes.md, after actix-session's). */
  async #persist(state: CommitView, request: Request | undefined): Promise<Outcome> {
    const { store, extendOn, persistent } = this.options
    const status = state.status
    if (status === SessionStatus.Purged) {
      if (state.cookieValue === undefined) return NONE
      const opening = state.openCookie()
      const opened = opening instanceof Promise ? await opening : opening
      if (opened !== null) {
        await store.delete(opened.id)
        this.#events.emit('purged', { at: Date.now() })
      }
      return REMOVE
    }
    const opening = state.openCookie()
    const opened = opening instanceof Promise ? await opening : opening
    // No session to write to: no valid cookie, or a record the manager refused (past the absolute
    // timeout in force now, or unreadable). The writes start a fresh session.
    if (status !== SessionStatus.Unchanged && (opened === null || state.refused)) return this.#create(state, request)
    // A cookie whose record was already missing when the handler read it: nothing to keep alive.
    if (opened === null || (status === SessionStatus.Unchanged && state.loaded && state.record === null)) return NONE
    const owner = ownerChange(state, this.options, request)
    if (status === SessionStatus.Unchanged && owner === undefined) {
      // Under `actixSession`, a cookie in the format not written is touched too: the touch moves it over.
      if (extendOn === 'every-request' || opened.migrate === true) {
        const id = await store.touch(opened.id, this.#ttlFor(opened.createdAt))
        if (typeof id !== 'string') return this.#missing(id, state, request)
        return this.#reissue(state, opened, id, persistent)
      }
      // Only reached when the handler read the session: re-seal a cookie sealed under an older key.
      return opened.stale ? this.#reissue(state, opened, opened.id, true) : NONE
    }
    // Even when the handler's read found no record, the store is asked: only it knows whether the
    // record expired (start afresh), was purged (drop) or was renewed away (leave the cookie alone).
    // A read-only request of a filed session writes too, at most once per lastSeenInterval.
    const ttlMs = this.#ttlFor(opened.createdAt)
    const changes = withOwner(this.#withVersion(state.changes), owner)
    const id = status === SessionStatus.Renewed ? await store.renew(opened.id, changes, ttlMs) : await store.apply(opened.id, changes, ttlMs)
    if (typeof id !== 'string') return this.#missing(id, state, request)
    if (owner && owner.handle !== state.record?.owner?.handle) await this.#withinLimit(owner)
    // A renewed session always gets a freshly sealed value, even from a store whose id is the record.
    if (status === SessionStatus.Renewed) {
      if (this.#events.has('renewed')) this.#events.emit('renewed', withUser({ at: Date.now() }, owner ?? state.record?.owner))
      return this.#sealed(id, state.record?.createdAt ?? opened.createdAt)
    }
    return this.#reissue(state, opened, id, persistent)
  }

  /** A fresh session holding the request's changes, if they leave anything to keep (an empty one is never stored). */
  async #create(state: CommitView, request: Request | undefined): Promise<Outcome> {
    const data = applyChanges({}, state.changes)
    if (Object.keys(data).length === 0) return NONE
    const version = this.options.dataRules?.version
    if (version !== undefined) data[VERSION_KEY] = version
    const now = Date.now()
    const { absoluteTimeoutMs } = this.options
    const absoluteExpiresAt = absoluteTimeoutMs === null ? null : now + absoluteTimeoutMs
    const record: SessionRecord = { data, createdAt: now, absoluteExpiresAt }
    const owner = ownerOfNew(data, this.options, request)
    if (owner !== undefined) record.owner = owner
    const id = await this.options.store.create(record, this.options.ttlMs)
    if (owner !== undefined) await this.#withinLimit(owner)
    this.#events.emit('created', withUser({ at: now }, owner))
    return this.#sealed(id, now)
  }

  async #withinLimit(owner: SessionOwner): Promise<void> {
    const { maxSessionsPerUser, store } = this.options
    if (maxSessionsPerUser !== undefined) await enforceSessionLimit(store, owner, maxSessionsPerUser)
  }

  /**
   * The store found no record for the request's id. Expired or unknown: a write starts a fresh
   * session (a login after a long pause works at once). Purged moments ago: the write is dropped
   * and the cookie cleared (purge wins). Renewed away: the write is dropped and the cookie left
   * alone, because the browser holds or is receiving the new id.
   */
  #missing(reason: Missing, state: CommitView, request: Request | undefined): Outcome | Promise<Outcome> {
    const { logger } = this.options
    if (reason === EXPIRED) {
      this.#events.emit('expired', { at: Date.now(), cause: 'idle' })
      return state.status === SessionStatus.Unchanged ? NONE : this.#create(state, request)
    }
    if (reason === RENEWED) {
      logger.debug("cloakroom: the session was renewed by another request; this request's changes were dropped and its cookie left alone")
      this.#events.emit('conflict', { at: Date.now(), cause: 'renewed' })
      return NONE
    }
    if (reason !== GONE) throw new StoreError('backend', `the session store answered ${String(reason)}; expected an id, GONE, RENEWED or EXPIRED`)
    logger.warn("cloakroom: the session was purged while a request was using it; that request's changes were dropped and its cookie cleared")
    this.#events.emit('conflict', { at: Date.now(), cause: 'purged' })
    return REMOVE
  }

  /**
   * Sends the cookie again when it must change or its Max-Age must move; reuses the request's value
   * when it can. A store whose id is the record (`idIsRecord`: the cookie store) returns the record itself as its
   * id, with its expiry inside: its value is re-sealed on every write or touch, even when the new
   * record happens to read the same (two requests in one millisecond).
   */
  #reissue(state: CommitView, opened: OpenedCookie, id: string, resendSameValue: boolean): Outcome | Promise<Outcome> {
    const { createdAt } = opened
    if (id !== opened.id || opened.stale || this.options.store.idIsRecord === true) return this.#sealed(id, createdAt)
    if (!resendSameValue) return NONE
    return { kind: 'set', value: state.cookieValue as string, createdAt }
  }

  #sealed(id: string, createdAt: number): Outcome | Promise<Outcome> {
    const value = this.#seal(id, createdAt)
    return typeof value === 'string' ? { kind: 'set', value, createdAt } : value.then((sealed) => ({ kind: 'set', value: sealed, createdAt }))
  }

  async #fail(error: unknown, request: Request | undefined): Promise<Response> {
    const failure =
      error instanceof CloakroomError ? error : new StoreError('backend', 'the session store failed', { cause: error })
    this.options.logger.error(`${failure.message}${failure instanceof StoreError ? ` (${failure.kind})` : ''}`)
    if (failure instanceof StoreError) this.#events.emit('storeError', { at: Date.now(), error: failure })
    const { onError } = this.options
    if (onError === undefined) return serverErrorResponse()
    try {
      return await onError(failure, request)
    } catch (renderError) {
      this.options.logger.error(`cloakroom: onError threw (${String(renderError)}); answering an empty 500`)
      return serverErrorResponse()
    }
  }
}

/**
 * Builds a manager with the given crypto implementation. The package entry points call this with
 * the implementation their export condition picked; users call `createSessionManager`.
 *
 * @internal
 */
export function createManager<Data extends JsonShape<Data> = RegisteredData, Flash extends JsonShape<Flash> = RegisteredFlash>(
  options: SessionOptions<Data>,
  provider: CryptoProvider,
): SessionManager<Data, Flash> {
  return new Manager<Data, Flash>(options, provider)
}

/** An event with the filed session's user added, when there is one. */
function withUser<T extends { at: number }>(event: T, owner: SessionOwner | undefined): T & { userId?: string } {
  return owner === undefined ? event : { ...event, userId: owner.userId }
}
