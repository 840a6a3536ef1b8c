import type { SessionMigration } from './migration.js'
import { ConfigError } from './errors.js'
import type { Logger } from './logger.js'
import { cookiePackageAcceptsPath, hostOnlyDomain, isRepeatedPattern, MAX_DURATION_SECONDS } from './option-checks.js'
import type { SessionEvents } from './events.js'
import { resolveDataRules, type DataRules, type Migrate, type SessionSchema } from './data-rules.js'
import type { RegisteredData } from './register.js'
import type { SessionStore } from './store.js'
import type { CloakroomError } from './errors.js'
import { resolveActix, type ActixSessionOptions, type ResolvedActix } from '../actix/options.js'
import { DEFAULT_OPENED_CACHE, type OpenedCacheLimits } from '../crypto/opened-cache.js'

/** When a session's idle window is pushed forward. */
export type ExtendOn = 'state-changes' | 'every-request'

/**
 * The session cookie lives until the browser closes; the server keeps the record for `stateTtl`
 * seconds of inactivity.
 *
 * @example
 * ```ts
 * lifecycle: { type: 'browser', stateTtl: 3600 }
 * ```
 */
export interface BrowserLifecycle {
  type: 'browser'
  /** Idle window in seconds: how long the record lives without activity. Default 86400 (1 day); at most 400 days. */
  stateTtl?: number
  /** Default `'state-changes'`. */
  extendOn?: ExtendOn
}

/**
 * The cookie carries `Max-Age = ttl` and survives browser restarts; the record lives as long.
 *
 * @example
 * ```ts
 * lifecycle: { type: 'persistent', ttl: 7 * 86400, extendOn: 'every-request' }
 * ```
 */
export interface PersistentLifecycle {
  type: 'persistent'
  /** Idle window in seconds, also the cookie's Max-Age. Default 86400 (1 day); at most 400 days, the longest Max-Age browsers keep. */
  ttl?: number
  /** Default `'state-changes'`. */
  extendOn?: ExtendOn
}

/** Attributes of the session cookie. Every default is the secure one. */
export interface CookieOptions {
  /** Default `'id'` (a name that says nothing about the stack, per OWASP). */
  name?: string
  /** Default `true`. Browsers treat http://localhost as secure, so local development still works. */
  secure?: boolean
  /** Default `true`: scripts cannot read the cookie. */
  httpOnly?: boolean
  /** Default `'lax'`. `'none'` requires `secure`. */
  sameSite?: 'lax' | 'strict' | 'none'
  /** Default `'/'`. */
  path?: string
  /** Default: none (host-only cookie). Two labels or more; a single label or an IP address is refused. */
  domain?: string
  /** CHIPS partitioned cookie. Default `false`; requires `secure`. */
  partitioned?: boolean
}

/**
 * Everything `createSessionManager` and the framework middlewares accept. Durations are whole seconds.
 *
 * @example
 * ```ts
 * const options: SessionOptions = {
 *   store: new CookieStore(),
 *   keys: [process.env.SESSION_KEY!],
 *   cookie: { name: '__Host-id' },
 *   lifecycle: { type: 'persistent', ttl: 14 * 86400 },
 *   absoluteTimeout: 30 * 86400,
 * }
 * ```
 */
export interface SessionOptions<Data = RegisteredData> {
  /** Where records live: `new CookieStore()`, `new MemoryStore()`, or a server store. */
  store: SessionStore
  /** Secrets, newest first, each at least 32 bytes: a string is taken as its UTF-8 bytes. Make one with `npx cloakroom keygen`. */
  keys: readonly (string | Uint8Array)[]
  cookie?: CookieOptions
  /** `'private'` (encrypted, the default) or `'signed'` (readable by the client, tamper-proof). */
  contentSecurity?: 'private' | 'signed'
  /** Default `{ type: 'browser', stateTtl: 86400, extendOn: 'state-changes' }`. */
  lifecycle?: BrowserLifecycle | PersistentLifecycle
  /** Hard cap on a session's whole life from its creation, in seconds. Default 2592000 (30 days), at most 400 days; `null` for none. */
  absoluteTimeout?: number | null
  /**
   * Renders the response for a store failure or an oversized cookie. Default: an empty-bodied 500
   * with `Cache-Control: no-store`. The error's message is never sent to the client by default.
   */
  onError?: (error: CloakroomError, request: Request | undefined) => Response | Promise<Response>
  /** Where diagnostics go. Default: `warn`/`error` to the console, `debug` nowhere. */
  logger?: Partial<Logger>
  /**
   * The session data key that holds the user id (e.g. `'userId'`). When a commit leaves a string
   * there, the session is filed under that user, so it can be listed and revoked
   * (`session.listUserSessions()`, `manager.revokeUserSessions(userId)`); removing it, clearing or
   * purging the session unfiles it. Default: none (no filing, no cost).
   */
  userKey?: string
  /**
   * What to record about the client when a session is filed under a user, shown in the user's
   * listing; return strings only. Default: nothing is recorded. Whatever it returns is personal
   * data kept as long as the session: record only what the app needs (e.g. the user agent).
   */
  describe?: (request: Request | undefined) => Record<string, string>
  /** How often, at most, a filed session's `lastSeenAt` is refreshed, in seconds [300]: reads do not turn into writes more often. */
  lastSeenInterval?: number
  /** The most sessions one user may have [none]: a login beyond it ends the user's least recently seen session. */
  maxSessionsPerUser?: number
  /** Listeners for what happens to sessions (created, renewed, purged, expired, refused, storeError, conflict, migrated); see `manager.on` too. */
  events?: SessionEvents
  /**
   * What a handler gets when the store fails to load its session: `'error'` [default] answers the
   * request with the error response (an empty 500, or `onError`'s); `'anonymous'` gives the handler
   * an empty session instead (a public page stays up while the store is down), whose writes are
   * never sent to the store. Either way the failure is reported (`storeError` event, error log).
   */
  onStoreError?: 'error' | 'anonymous'
  /**
   * Standard Schemas (Zod, Valibot, ArkType…) the stored data is checked against, once per request,
   * when the request first reads its session: one for the whole record, or one per key (keys
   * without one are not checked). Reads see the schema's output. Default: none (values are taken to
   * be what the data type says).
   */
  schema?: SessionSchema<Data>
  /**
   * What a stored value the schema refuses does: `'drop'` [default] reads as absent, and is removed
   * at the session's next write; `'error'` makes reading it throw a `SessionSchemaError`, and leaves
   * the stored value for the app to replace or remove. A record schema that refuses the record
   * drops (or refuses) it whole.
   */
  onInvalid?: 'drop' | 'error'
  /**
   * The version of the data's shape this app writes, a whole number from 1, raised with each change
   * of shape; needs `migrate`. Kept in the record under the reserved key `'~version'`.
   */
  version?: number
  /**
   * Brings the data of a session written under an older `version` (`0`: written before `version`
   * was set) to the current shape, so that changing the shape logs nobody out. Runs when a request
   * first reads such a session (or writes it without reading), before the schema; its result is
   * stored at that request's commit. One that throws counts as invalid data (see `onInvalid`).
   */
  migrate?: Migrate<Data>
  /**
   * Moves users off the session library the app used before, without logging them out: a request
   * carrying the old cookie and no cloakroom session gets the old session's data in a new cloakroom
   * session, the old record deleted and the old cookie cleared. Remove it once the transition window
   * is over. See `cloakroom/express-session` and docs/migrating-from-express-session.md.
   */
  migrateFrom?: SessionMigration
  /**
   * Reads and writes sessions exactly as actix-session 0.10/0.11 (actix-web 4) does, with
   * `CookieStore` or `RedisStore`, so a Rust service and this one share a login; `write: false`
   * reads actix-session's sessions but writes cloakroom's, to move off actix-web without a logout.
   * Key rotation, the absolute timeout and hashed ids at rest do not apply to actix-session's
   * format: see docs/actix-session.md.
   */
  actixSession?: ActixSessionOptions
  /**
   * The bounded cache of cookie values that already verified, so the next request carrying the
   * same value costs a lookup instead of a decryption (a cookie this process sealed is entered at
   * sealing): `false` turns it off. Default `{ maxEntries: 10000, maxCharacters: 4194304 }` (at
   * most 8 MiB of strings). Each hit still checks the key ring, the absolute timeout and the
   * store's expiry; see docs/security-model.md.
   */
  cookieCache?: false | { maxEntries?: number; maxCharacters?: number }
}

/** Options with every default filled in and every value checked. */
export interface ResolvedOptions {
  store: SessionStore
  keys: Uint8Array[]
  cookie: Required<Omit<CookieOptions, 'domain'>> & { domain: string | undefined }
  contentSecurity: 'private' | 'signed'
  persistent: boolean
  /** Idle window in milliseconds. */
  ttlMs: number
  extendOn: ExtendOn
  /** In milliseconds, or null. */
  absoluteTimeoutMs: number | null
  onError: SessionOptions['onError']
  logger: Logger
  userKey: string | undefined
  describe: SessionOptions['describe']
  lastSeenIntervalMs: number
  maxSessionsPerUser: number | undefined
  events: SessionEvents | undefined
  onStoreError: 'error' | 'anonymous'
  /** The `schema`, `onInvalid`, `version` and `migrate` options; `undefined` when none is given. */
  dataRules: DataRules | undefined
  /** The `migrateFrom` option, checked. */
  migration: SessionMigration | undefined
  /** The `actixSession` option, checked; `undefined` when not set. */
  actix: ResolvedActix | undefined
  cookieCache: OpenedCacheLimits | false
}

// RFC 7230 token characters: stricter than what browsers accept, so no name can smuggle syntax.
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const MIN_KEY_BYTES = 32
const TOP_LEVEL_KEYS = new Set([
  'store',
  'keys',
  'cookie',
  'contentSecurity',
  'lifecycle',
  'absoluteTimeout',
  'onError',
  'logger',
  'userKey',
  'describe',
  'lastSeenInterval',
  'maxSessionsPerUser',
  'events',
  'onStoreError',
  'schema',
  'onInvalid',
  'version',
  'migrate',
  'migrateFrom',
  'actixSession',
  'cookieCache',
])
const CACHE_KEYS = new Set(['maxEntries', 'maxCharacters'])
const COOKIE_KEYS = new Set(['name', 'secure', 'httpOnly', 'sameSite', 'path', 'domain', 'partitioned'])
const BROWSER_KEYS = new Set(['type', 'stateTtl', 'extendOn'])
const PERSISTENT_KEYS = new Set(['type', 'ttl', 'extendOn'])
const LOG_LEVELS = ['debug', 'warn', 'error'] as const
const encoder = new TextEncoder()

function rejectUnknown(given: object, known: Set<string>, where: string, hint: (key: string) => string = () => ''): void {
  for (const key of Object.keys(given)) {
    if (!known.has(key)) throw new ConfigError(`unknown option ${where}${key}; the options are ${[...known].join(', ')}${hint(key)}`)
  }
}

/** A nested option (`cookie`, `lifecycle`) must be an object: `null` or a string cannot be read for its keys. */
function objectOption<T extends object>(value: T | undefined, name: string): T | undefined {
  if (value !== undefined && (value === null || typeof value !== 'object' || Array.isArray(value))) {
    throw new ConfigError(`${name} must be an object (got ${value === null ? 'null' : typeof value})`)
  }
  return value
}

// The other lifecycle type's name for the idle window is the likeliest slip.
function lifecycleHint(persistent: boolean): (key: string) => string {
  return (key) => {
    if (!persistent && key === 'ttl') return "; a browser lifecycle's idle window is stateTtl (ttl belongs to { type: 'persistent' })"
    if (persistent && key === 'stateTtl') return "; a persistent lifecycle's idle window is ttl (stateTtl belongs to { type: 'browser' })"
    return ''
  }
}

function seconds(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(`${name} must be a whole number of seconds, at least 1 (got ${String(value)})`)
  }
  if (value > MAX_DURATION_SECONDS) {
    throw new ConfigError(
      `${name} must be at most ${MAX_DURATION_SECONDS} seconds (400 days), the longest Max-Age browsers keep (RFC 6265bis); no session can outlive its cookie (got ${value})`,
    )
  }
  return value
}

function resolveKeys(keys: unknown): Uint8Array[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ConfigError('keys must be a non-empty array of secrets, newest first; make one with `npx cloakroom keygen`')
  }
  return keys.map((key: unknown, index) => {
    const bytes = typeof key === 'string' ? encoder.encode(key) : key instanceof Uint8Array ? key : undefined
    if (bytes === undefined) {
      throw new ConfigError(`keys[${index}] is ${key === undefined ? 'undefined (is the environment variable set?)' : typeof key}; give a string or a Uint8Array`)
    }
    if (bytes.length < MIN_KEY_BYTES) {
      throw new ConfigError(`keys[${index}] is ${bytes.length} bytes; each key needs at least ${MIN_KEY_BYTES} random bytes: make one with \`npx cloakroom keygen\``)
    }
    if (isRepeatedPattern(bytes)) {
      throw new ConfigError(`keys[${index}] is a short run of bytes repeated, so it is not secret; make a random key with \`npx cloakroom keygen\``)
    }
    return bytes
  })
}

function resolveCookie(cookie: CookieOptions = {}): ResolvedOptions['cookie'] {
  objectOption(cookie, 'cookie')
  rejectUnknown(cookie, COOKIE_KEYS, 'cookie.')
  const resolved = {
    name: cookie.name ?? 'id',
    secure: cookie.secure ?? true,
    httpOnly: cookie.httpOnly ?? true,
    sameSite: cookie.sameSite ?? 'lax',
    path: cookie.path ?? '/',
    domain: cookie.domain,
    partitioned: cookie.partitioned ?? false,
  }
  const { name, secure, path, domain } = resolved
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) {
    throw new ConfigError(`cookie.name ${JSON.stringify(name)} is not a valid cookie name; use letters, digits and !#$%&'*+-.^_\`|~ only`)
  }
  if (!['lax', 'strict', 'none'].includes(resolved.sameSite)) {
    throw new ConfigError(`cookie.sameSite must be 'lax', 'strict' or 'none' (got ${JSON.stringify(resolved.sameSite)})`)
  }
  for (const flag of ['secure', 'httpOnly', 'partitioned'] as const) {
    if (typeof resolved[flag] !== 'boolean') throw new ConfigError(`cookie.${flag} must be true or false`)
  }
  if (resolved.sameSite === 'none' && !secure) {
    throw new ConfigError("cookie.sameSite 'none' requires cookie.secure: true (browsers drop SameSite=None cookies without Secure)")
  }
  if (resolved.partitioned && !secure) throw new ConfigError('cookie.partitioned requires cookie.secure: true')
  // Printable ASCII without ';' is RFC 6265's path-value; the cookie package, which writes the
  // line, also refuses '<', so it is asked too.
  if (typeof path !== 'string' || !path.startsWith('/') || !/^[\u0020-\u003A\u003C-\u007E]*$/.test(path) || !cookiePackageAcceptsPath(path)) {
    throw new ConfigError(`cookie.path ${JSON.stringify(path)} must start with '/' and hold only printable ASCII without ';' or '<'`)
  }
  if (domain !== undefined) resolveDomain(domain)
  // Browsers match both prefixes case-insensitively (RFC 6265bis) and drop a cookie that breaks their rules.
  const lowerName = name.toLowerCase()
  if (lowerName.startsWith('__host-') && (!secure || path !== '/' || domain !== undefined)) {
    throw new ConfigError("a cookie named __Host-… (in any letter case) needs cookie.secure: true, cookie.path: '/' and no cookie.domain")
  }
  if (lowerName.startsWith('__secure-') && !secure) throw new ConfigError('a cookie named __Secure-… (in any letter case) needs cookie.secure: true')
  return resolved
}

function resolveDomain(domain: unknown): void {
  const hostOnly = typeof domain === 'string' ? hostOnlyDomain(domain) : undefined
  if (hostOnly !== undefined) {
    throw new ConfigError(
      `cookie.domain ${JSON.stringify(domain)} is ${hostOnly}, which browsers never share with other hosts; leave cookie.domain unset for a host-only cookie`,
    )
  }
  const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
  if (typeof domain !== 'string' || !new RegExp(`^${label}(?:\\.${label})*$`, 'i').test(domain)) {
    throw new ConfigError(
      `cookie.domain ${JSON.stringify(domain)} is not a plain host name; drop any leading dot, port or scheme, and write an international name in its xn-- form`,
    )
  }
}

/**
 * A logger written as an object literal has its keys checked like any option. A logger instance
 * (console, pino, winston) carries many other methods, so only its debug, warn and error are
 * looked up, and they are called as its methods.
 */
function resolveLogger(logger: unknown): Logger {
  if (logger === undefined) return consoleLogger
  if (logger === null || typeof logger !== 'object') throw new ConfigError('logger must be an object with debug, warn and error functions')
  const literal = Object.getPrototypeOf(logger) === Object.prototype || Object.getPrototypeOf(logger) === null
  if (literal) rejectUnknown(logger, new Set(LOG_LEVELS), 'logger.', () => ' (a logger instance such as console or pino is taken as it is)')
  const resolved = { ...consoleLogger }
  let found = false
  for (const level of LOG_LEVELS) {
    const method: unknown = (logger as Record<string, unknown>)[level]
    if (method === undefined) continue
    if (typeof method !== 'function') throw new ConfigError(`logger.${level} must be a function`)
    resolved[level] = (message) => void method.call(logger, message)
    found = true
  }
  if (!literal && !found) throw new ConfigError('logger has no debug, warn or error method; give an object with debug, warn and error functions')
  return resolved
}

const consoleLogger: Logger = {
  debug: () => {},
  warn: (message) => console.warn(message),
  error: (message) => console.error(message),
}

/**
 * Fills in the secure defaults and checks every option, throwing a {@link ConfigError} that
 * names the fix for anything that cannot work.
 */
export function resolveOptions<Data>(options: SessionOptions<Data>): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError('options must be an object with at least store and keys')
  rejectUnknown(options, TOP_LEVEL_KEYS, '')
  const { store } = options
  if (store === null || typeof store !== 'object' || typeof store.load !== 'function' || typeof store.apply !== 'function') {
    throw new ConfigError('store must be a session store, e.g. new CookieStore() or new MemoryStore()')
  }
  const keys = resolveKeys(options.keys)
  const contentSecurity = options.contentSecurity ?? 'private'
  if (contentSecurity !== 'private' && contentSecurity !== 'signed') {
    throw new ConfigError(`contentSecurity must be 'private' or 'signed' (got ${JSON.stringify(contentSecurity)})`)
  }
  const lifecycle = objectOption(options.lifecycle, 'lifecycle') ?? { type: 'browser' }
  if (lifecycle.type !== 'browser' && lifecycle.type !== 'persistent') {
    throw new ConfigError("lifecycle.type must be 'browser' or 'persistent'")
  }
  const persistent = lifecycle.type === 'persistent'
  rejectUnknown(lifecycle, persistent ? PERSISTENT_KEYS : BROWSER_KEYS, 'lifecycle.', lifecycleHint(persistent))
  const ttl = seconds((persistent ? lifecycle.ttl : lifecycle.stateTtl) ?? 86_400, persistent ? 'lifecycle.ttl' : 'lifecycle.stateTtl')
  const extendOn = lifecycle.extendOn ?? 'state-changes'
  if (extendOn !== 'state-changes' && extendOn !== 'every-request') {
    throw new ConfigError("lifecycle.extendOn must be 'state-changes' or 'every-request'")
  }
  const absolute = options.absoluteTimeout === undefined ? 2_592_000 : options.absoluteTimeout
  const actix = resolveActix(options.actixSession, { store, keys, userKey: options.userKey, absoluteTimeout: options.absoluteTimeout })
  // actix-session's format records no creation time, so no absolute timeout can be judged.
  const absoluteTimeoutMs = absolute === null || actix?.write === true ? null : seconds(absolute, 'absoluteTimeout') * 1000
  if (options.onError !== undefined && typeof options.onError !== 'function') throw new ConfigError('onError must be a function')
  const accounts = resolveAccounts(options)
  const onStoreError = options.onStoreError ?? 'error'
  if (onStoreError !== 'error' && onStoreError !== 'anonymous') {
    throw new ConfigError(`onStoreError must be 'error' or 'anonymous' (got ${JSON.stringify(onStoreError)})`)
  }
  const resolved: ResolvedOptions = {
    ...accounts,
    events: resolveEvents(options.events),
    onStoreError,
    dataRules: resolveDataRules(options),
    actix,
    store,
    keys,
    cookie: resolveCookie(options.cookie),
    contentSecurity,
    persistent,
    ttlMs: ttl * 1000,
    extendOn,
    absoluteTimeoutMs,
    onError: options.onError,
    logger: resolveLogger(options.logger),
    migration: undefined,
    cookieCache: resolveCookieCache(options.cookieCache),
  }
  resolved.migration = resolveMigration(options.migrateFrom, resolved.cookie.name)
  return resolved
}

/** The `cookieCache` option: `false`, or bounds that are whole numbers of at least 1. */
function resolveCookieCache(given: SessionOptions['cookieCache']): OpenedCacheLimits | false {
  if (given === false) return false
  const cache = objectOption(given, 'cookieCache') ?? {}
  rejectUnknown(cache, CACHE_KEYS, 'cookieCache.')
  const { maxEntries = DEFAULT_OPENED_CACHE.maxEntries, maxCharacters = DEFAULT_OPENED_CACHE.maxChars } = cache
  for (const [name, value] of [['maxEntries', maxEntries], ['maxCharacters', maxCharacters]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new ConfigError(`cookieCache.${name} must be a whole number of at least 1 (got ${String(value)}); pass cookieCache: false to turn the cache off`)
    }
  }
  return { maxEntries, maxChars: maxCharacters }
}

/** The accounts options: filing sessions by user, and what that needs of the store. */
function resolveAccounts<Data>(options: SessionOptions<Data>): Pick<ResolvedOptions, 'userKey' | 'describe' | 'lastSeenIntervalMs' | 'maxSessionsPerUser'> {
  const { userKey, describe, maxSessionsPerUser } = options
  if (userKey !== undefined && (typeof userKey !== 'string' || userKey === '')) {
    throw new ConfigError(`userKey must be the name of the session key that holds the user id, e.g. 'userId' (got ${JSON.stringify(userKey)})`)
  }
  if (describe !== undefined && typeof describe !== 'function') throw new ConfigError('describe must be a function (request) => ({ userAgent: ... })')
  const lastSeenInterval = options.lastSeenInterval === undefined ? 300 : seconds(options.lastSeenInterval, 'lastSeenInterval')
  if (maxSessionsPerUser !== undefined && !(Number.isSafeInteger(maxSessionsPerUser) && maxSessionsPerUser >= 1)) {
    throw new ConfigError(`maxSessionsPerUser must be a whole number of at least 1 (got ${String(maxSessionsPerUser)})`)
  }
  const needsUserKey = describe !== undefined ? 'describe' : maxSessionsPerUser !== undefined ? 'maxSessionsPerUser' : options.lastSeenInterval !== undefined ? 'lastSeenInterval' : undefined
  if (userKey === undefined && needsUserKey !== undefined) {
    throw new ConfigError(`${needsUserKey} only applies to sessions filed by user: set userKey too (the session key holding the user id, e.g. userKey: 'userId')`)
  }
  if (maxSessionsPerUser !== undefined && typeof options.store.listByUser !== 'function') {
    throw new ConfigError('maxSessionsPerUser needs a store that lists sessions by user (memory, SQLite, Redis, PostgreSQL); the cookie store cannot')
  }
  return { userKey, describe, lastSeenIntervalMs: lastSeenInterval * 1000, maxSessionsPerUser }
}

function resolveMigration(migration: SessionMigration | undefined, cookieName: string): SessionMigration | undefined {
  if (migration === undefined) return undefined
  const ok =
    migration !== null &&
    typeof migration === 'object' &&
    typeof migration.cookieName === 'string' &&
    typeof migration.removal === 'string' &&
    typeof migration.read === 'function' &&
    typeof migration.claim === 'function'
  if (!ok) throw new ConfigError("migrateFrom must be a session reader, e.g. expressSession({ secret, store }) from 'cloakroom/express-session'")
  if (migration.cookieName === cookieName) {
    throw new ConfigError(`migrateFrom reads the cookie '${cookieName}', which is cloakroom's own cookie name: give cloakroom another (cookie: { name: 'id' })`)
  }
  return migration
}

/**
 * Whether the manager ever reads the web `Request` (for `onError` or `describe`): adapters on
 * Node build one from the `IncomingMessage` only then, since copying every header costs.
 *
 * @example
 * ```ts
 * const requestFor = readsRequest(options) ? (req) => toWebRequest(req) : () => undefined
 * ```
 */
export function readsRequest(options: Pick<SessionOptions, 'onError' | 'describe'>): boolean {
  return options.onError !== undefined || options.describe !== undefined
}

const EVENT_NAMES = new Set(['created', 'renewed', 'purged', 'expired', 'refused', 'storeError', 'conflict', 'migrated'])

function resolveEvents(events: SessionEvents | undefined): SessionEvents | undefined {
  const given = objectOption(events, 'events')
  if (given === undefined) return undefined
  rejectUnknown(given, EVENT_NAMES, 'events.')
  for (const [name, listener] of Object.entries(given)) {
    if (typeof listener !== 'function') throw new ConfigError(`events.${name} must be a function (event) => void`)
  }
  return given as SessionEvents
}
