import { SpanKind, SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api'
import { StoreError } from '../core/errors.js'
import type { Json } from '../core/json.js'
import { GONE, RENEWED, type ChangeSet, type Missing, type RevokeSelection, type SessionRecord, type SessionStore, type UserSessionEntry } from '../core/store.js'
import { ATTR_ERROR_TYPE, ATTR_STORE_KIND, ATTR_STORE_OPERATION, ATTR_STORE_OUTCOME, STORE_SPAN_PREFIX } from './names.js'
import { telemetry, type OtelOptions, type Telemetry } from './telemetry.js'

/**
 * Options of {@link instrumentStore}.
 *
 * @example
 * ```ts
 * const options: InstrumentStoreOptions = { kind: 'redis-eu', tracer: trace.getTracer('shop') }
 * ```
 */
export interface InstrumentStoreOptions extends OtelOptions {
  /** The `cloakroom.store.kind` attribute. Default: `memory`, `redis`, `postgres`, `sqlite` or `cookie` for cloakroom's stores, else the class name without `Store`, lowercased. */
  kind?: string
}

type Operation = 'load' | 'create' | 'apply' | 'renew' | 'touch' | 'delete' | 'take' | 'listByUser' | 'revokeByUser'

const KINDS: Record<string, string> = { MemoryStore: 'memory', RedisStore: 'redis', PostgresStore: 'postgres', SqliteStore: 'sqlite', CookieStore: 'cookie' }

function kindOf(store: SessionStore): string {
  if (store instanceof InstrumentedStore) return store.kind
  const name = (store.constructor as { name?: string } | undefined)?.name ?? ''
  return KINDS[name] ?? (name.replace(/Store$/, '').toLowerCase() || 'custom')
}

/** A write's answer as an outcome: the id (`ok`), or why there was no live record. */
function writeOutcome(result: string | Missing): string {
  if (typeof result === 'string') return 'ok'
  return result === GONE ? 'gone' : result === RENEWED ? 'renewed' : 'expired'
}
const loadOutcome = (record: SessionRecord | null): string => (record === null ? 'absent' : 'found')
const ok = (): string => 'ok'
const takeOutcome = (value: Json | undefined): string => (value === undefined ? 'absent' : 'found')

/**
 * A failure's class, low-cardinality as `error.type` asks. The message is never used: a driver's
 * message can hold a key name or a value, and a trace is no place for those.
 */
function errorType(error: unknown): string {
  if (error instanceof StoreError) return error.kind
  return (error as { constructor?: { name?: string } } | null)?.constructor?.name || 'unknown'
}

/**
 * A store that makes each call a span (`cloakroom.store.<operation>`, active while it runs, so a
 * driver's own instrumentation nests under it) and a `cloakroom.store.duration` measurement, then
 * forwards it to the store it wraps. Attributes name the store kind, the operation and the outcome
 * (plus `error.type` on failure); never an id, a record, a user id or a key. It offers
 * `take`, `listByUser` and `revokeByUser` exactly when the wrapped store does, and forwards
 * `canInvalidate` and `idIsRecord`.
 */
export class InstrumentedStore implements SessionStore {
  /** The `cloakroom.store.kind` attribute of every call. */
  readonly kind: string
  readonly take?: (id: string, key: string) => Promise<Json | undefined>
  readonly listByUser?: (userId: string) => Promise<UserSessionEntry[]>
  readonly revokeByUser?: (userId: string, selection: RevokeSelection) => Promise<number | null>
  readonly #inner: SessionStore
  readonly #telemetry: Telemetry
  /** Attribute sets by operation and outcome, made once: a measurement is recorded on every call. */
  readonly #attributes = new Map<string, Attributes>()

  constructor(inner: SessionStore, options: InstrumentStoreOptions = {}, shared?: Telemetry) {
    this.#inner = inner
    this.kind = options.kind ?? kindOf(inner)
    this.#telemetry = shared ?? telemetry(options)
    const { take, listByUser, revokeByUser } = inner
    if (take !== undefined) this.take = (id, key) => this.#call('take', () => take.call(inner, id, key), takeOutcome)
    if (listByUser !== undefined) this.listByUser = (userId) => this.#call('listByUser', () => listByUser.call(inner, userId), ok)
    if (revokeByUser !== undefined) this.revokeByUser = (userId, selection) => this.#call('revokeByUser', () => revokeByUser.call(inner, userId, selection), ok)
  }

  get canInvalidate(): boolean {
    return this.#inner.canInvalidate
  }
  get idIsRecord(): boolean | undefined {
    return this.#inner.idIsRecord
  }

  load(id: string): Promise<SessionRecord | null> {
    return this.#call('load', () => this.#inner.load(id), loadOutcome)
  }
  create(record: SessionRecord, ttlMs: number): Promise<string> {
    return this.#call('create', () => this.#inner.create(record, ttlMs), ok)
  }
  apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return this.#call('apply', () => this.#inner.apply(id, changes, ttlMs), writeOutcome)
  }
  renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return this.#call('renew', () => this.#inner.renew(id, changes, ttlMs), writeOutcome)
  }
  touch(id: string, ttlMs: number): Promise<string | Missing> {
    return this.#call('touch', () => this.#inner.touch(id, ttlMs), writeOutcome)
  }
  delete(id: string): Promise<void> {
    return this.#call('delete', () => this.#inner.delete(id), ok)
  }

  #attributesOf(operation: Operation, outcome: string, error?: string): Attributes {
    const key = `${operation} ${outcome} ${error ?? ''}`
    let attributes = this.#attributes.get(key)
    if (attributes === undefined) {
      attributes = { [ATTR_STORE_KIND]: this.kind, [ATTR_STORE_OPERATION]: operation, [ATTR_STORE_OUTCOME]: outcome }
      if (error !== undefined) attributes[ATTR_ERROR_TYPE] = error
      this.#attributes.set(key, attributes)
    }
    return attributes
  }

  #call<T>(operation: Operation, work: () => Promise<T>, outcomeOf: (result: T) => string): Promise<T> {
    const { tracer, storeDuration } = this.#telemetry
    const start = { kind: SpanKind.INTERNAL, attributes: { [ATTR_STORE_KIND]: this.kind, [ATTR_STORE_OPERATION]: operation } }
    return tracer.startActiveSpan(STORE_SPAN_PREFIX + operation, start, async (span: Span) => {
      const started = performance.now()
      try {
        const result = await work()
        const outcome = outcomeOf(result)
        storeDuration.record((performance.now() - started) / 1000, this.#attributesOf(operation, outcome))
        span.setAttribute(ATTR_STORE_OUTCOME, outcome)
        return result
      } catch (error) {
        const type = errorType(error)
        storeDuration.record((performance.now() - started) / 1000, this.#attributesOf(operation, 'error', type))
        span.setAttributes({ [ATTR_STORE_OUTCOME]: 'error', [ATTR_ERROR_TYPE]: type })
        span.setStatus({ code: SpanStatusCode.ERROR, message: `store ${operation} failed: ${type}` })
        throw error
      } finally {
        span.end()
      }
    })
  }
}

/**
 * Wraps a store so each call is a span and a duration measurement (see {@link InstrumentedStore}).
 * Give the manager the returned store; keep the original for its own methods (`migrate`,
 * `revocationList`, …).
 *
 * @example
 * ```ts
 * import { instrumentStore } from 'cloakroom/otel'
 * const store = instrumentStore(new RedisStore({ client }))
 * const manager = createSessionManager({ store, keys: [process.env.SESSION_KEY!] })
 * ```
 */
export function instrumentStore(store: SessionStore, options: InstrumentStoreOptions = {}): SessionStore {
  return new InstrumentedStore(store, options)
}
