import { applyChanges } from './change-set.js'
import { SessionCommittedError, SessionSchemaError, StoreError, type CloakroomError } from './errors.js'
import { defineOwn, toJsonValue } from './json-value.js'
import type { Json } from './json.js'
import type { RegisteredData } from './register.js'
import type { StandardSchemaV1 } from './standard-schema.js'
import { SessionStatus } from './status.js'
import type { ChangeSet, SessionRecord } from './store.js'

type Key<Data> = Extract<keyof Data, string>

/**
 * The session of one request. Every handle taken in a request sees the same record. Reads are
 * async because the store is read lazily, on the first read; writes are recorded at once, in call
 * order, and sent to the store when the response head is about to leave.
 *
 * | call | status after |
 * |---|---|
 * | `get`, `has`, `entries` | unchanged |
 * | `insert`, `update`, `updateOr`, `remove`, `removeAs`, `clear` | changed (renewed stays renewed) |
 * | `renew` | renewed |
 * | `purge` | purged, for good: later writes are ignored |
 *
 * @example
 * ```ts
 * const n = (await session.get('counter')) ?? 0
 * session.insert('counter', n + 1)
 * ```
 */
export interface Session<Data extends object = RegisteredData> {
  /** `'unchanged' | 'changed' | 'renewed' | 'purged'`. */
  readonly status: SessionStatus
  /** The value at `key`, or `undefined`; with a Standard Schema, validated (throws {@link SessionSchemaError}). */
  get<K extends Key<Data>>(key: K): Promise<Data[K] | undefined>
  get<S extends StandardSchemaV1>(key: string, schema: S): Promise<StandardSchemaV1.InferOutput<S> | undefined>
  /** Whether `key` holds a value. */
  has(key: string): Promise<boolean>
  /** A frozen copy of every key and value. Key order is not preserved by every store. */
  entries(): Promise<Readonly<Partial<Data>>>
  /** Sets `key`. The value must survive JSON unchanged, else {@link SessionValueError} is thrown and nothing changes. */
  insert<K extends Key<Data>>(key: K, value: Data[K]): void
  /** If `key` is present, replaces its value with `fn(old)`; otherwise does nothing. */
  update<K extends Key<Data>>(key: K, fn: (old: Data[K]) => Data[K]): Promise<void>
  /** If `key` is present, replaces its value with `fn(old)`; otherwise inserts `initial`. */
  updateOr<K extends Key<Data>>(key: K, initial: Data[K], fn: (old: Data[K]) => Data[K]): Promise<void>
  /** Removes `key` and resolves to its old value. Marks the session changed even when the key was absent. */
  remove<K extends Key<Data>>(key: K): Promise<Data[K] | undefined>
  /** Removes `key` and validates its old value with a Standard Schema. The key is removed either way. */
  removeAs<S extends StandardSchemaV1>(key: string, schema: S): Promise<StandardSchemaV1.InferOutput<S> | undefined>
  /** Removes every key; the session itself lives on (empty). */
  clear(): void
  /** Ends the session: deletes the record and the cookie. Later writes are ignored. Call it on logout. */
  purge(): void
  /** Keeps the data under a new id, so an id seen before cannot be used after. Call it on login and privilege change. */
  renew(): void
}

/** What the session learns from its cookie: the id it carries and the session's creation time sealed with it. */
export interface OpenedCookie {
  id: string
  /** When the session was created (epoch ms): the absolute timeout in force now is judged from it. */
  createdAt: number
  /** Sealed under an older key: re-seal it on this response. */
  stale: boolean
}

/** What a session asks of its manager. */
export interface SessionBackend {
  openCookie(value: string): OpenedCookie | null | Promise<OpenedCookie | null>
  load(id: string): Promise<SessionRecord | null>
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

/**
 * The one implementation of {@link Session}. The manager reads its internal fields when it
 * commits; user code only ever sees the `Session` interface.
 *
 * @internal
 */
export class SessionHandle<Data extends object = RegisteredData> implements Session<Data> {
  /** The raw value of our cookie on the request, if any (an empty `id=` counts). */
  readonly cookieValue: string | undefined
  /** The writes to send to the store, in the contract's order (clear, remove, set). */
  changes: ChangeSet = emptyChanges()
  /** Whether the handler read the session (the response then varies on Cookie). */
  read = false
  /** Whether the record has been loaded (or needs no load: purged). */
  loaded = false
  /** The loaded record; `null` when the cookie was absent, invalid, or its record missing or expired. */
  record: SessionRecord | null = null
  /** A store failure met while loading; the response becomes an error even if the handler caught it. */
  error: CloakroomError | undefined
  /** Set by the commit: later writes throw {@link SessionCommittedError} instead of vanishing. */
  committed = false
  /** Writes still waiting for the load (an un-awaited `update`, say); the commit waits for them. */
  inFlight: Promise<unknown>[] | undefined
  #status: SessionStatus = SessionStatus.Unchanged
  /** The current data, valid once `loaded`. */
  #data: Record<string, Json> = {}
  #opened: OpenedCookie | null | Promise<OpenedCookie | null> | undefined
  #loading: Promise<void> | undefined
  readonly #backend: SessionBackend

  constructor(backend: SessionBackend, cookieValue: string | undefined) {
    this.#backend = backend
    this.cookieValue = cookieValue
  }

  get status(): SessionStatus {
    return this.#status
  }

  /**
   * Opens the request's cookie once; `null` when there is none or it does not verify. Synchronous
   * when the crypto is (node:crypto), so the common path pays no promise for it.
   */
  openCookie(): OpenedCookie | null | Promise<OpenedCookie | null> {
    if (this.#opened === undefined) {
      const opening = this.cookieValue === undefined ? null : this.#backend.openCookie(this.cookieValue)
      this.#opened = opening
      if (opening instanceof Promise) opening.then((opened) => void (this.#opened = opened), () => undefined)
    }
    return this.#opened
  }

  async get(key: string, schema?: StandardSchemaV1): Promise<never> {
    await this.#load()
    const value = Object.hasOwn(this.#data, key) ? this.#data[key] : undefined
    return (schema === undefined || value === undefined ? value : await validate(key, value, schema)) as never
  }

  async has(key: string): Promise<boolean> {
    await this.#load()
    return Object.hasOwn(this.#data, key)
  }

  async entries(): Promise<never> {
    await this.#load()
    return deepFreeze(JSON.parse(JSON.stringify(this.#data))) as never
  }

  insert(key: string, value: unknown): void {
    this.#open('insert')
    if (this.#status === SessionStatus.Purged) return
    this.#set(key, toJsonValue(key, value))
  }

  update(key: string, fn: (old: never) => unknown): Promise<void> {
    this.#open('update')
    return this.#track(
      this.#load().then(() => {
        if (this.#status === SessionStatus.Purged || !Object.hasOwn(this.#data, key)) return
        this.#set(key, toJsonValue(key, fn(this.#data[key] as never)))
      }),
    )
  }

  updateOr(key: string, initial: unknown, fn: (old: never) => unknown): Promise<void> {
    this.#open('updateOr')
    return this.#track(
      this.#load().then(() => {
        if (this.#status === SessionStatus.Purged) return
        const next = Object.hasOwn(this.#data, key) ? fn(this.#data[key] as never) : initial
        this.#set(key, toJsonValue(key, next))
      }),
    )
  }

  remove(key: string): Promise<never> {
    this.#open('remove')
    if (this.#status === SessionStatus.Purged) return Promise.resolve(undefined as never)
    const { changes } = this
    // The old value is the value at the moment of the call; when only the store knows it, it is
    // read from the loaded record (this removal and later writes do not affect that copy).
    let old: Promise<Json | undefined>
    if (this.loaded) {
      old = Promise.resolve(Object.hasOwn(this.#data, key) ? this.#data[key] : undefined)
      delete this.#data[key]
    } else if (Object.hasOwn(changes.set, key)) {
      old = Promise.resolve(changes.set[key])
    } else if (changes.clear || changes.remove.includes(key)) {
      old = Promise.resolve(undefined)
    } else {
      old = this.#load().then(() => (this.record && Object.hasOwn(this.record.data, key) ? this.record.data[key] : undefined))
    }
    delete changes.set[key]
    if (!changes.remove.includes(key)) changes.remove.push(key)
    this.#markChanged()
    return (this.loaded ? old : this.#track(old)) as Promise<never>
  }

  async removeAs(key: string, schema: StandardSchemaV1): Promise<never> {
    const old = await this.remove(key as never)
    return (old === undefined ? undefined : await validate(key, old, schema)) as never
  }

  clear(): void {
    this.#open('clear')
    if (this.#status === SessionStatus.Purged) return
    this.changes = { clear: true, set: {}, remove: [] }
    this.#data = {}
    this.#markChanged()
  }

  purge(): void {
    this.#open('purge')
    this.#status = SessionStatus.Purged
    this.changes = emptyChanges()
    this.#data = {}
    this.loaded = true
  }

  renew(): void {
    this.#open('renew')
    if (this.#status !== SessionStatus.Purged) this.#status = SessionStatus.Renewed
  }

  /** Resolves once every write still waiting for the load has run (settled either way). */
  async settle(): Promise<void> {
    while (this.inFlight !== undefined) {
      const waiting = this.inFlight
      this.inFlight = undefined
      await Promise.allSettled(waiting)
    }
  }

  #open(call: string): void {
    if (this.committed) throw new SessionCommittedError(call)
  }

  #track<T>(operation: Promise<T>): Promise<T> {
    ;(this.inFlight ??= []).push(operation)
    return operation
  }

  #set(key: string, value: Json): void {
    defineOwn(this.changes.set, key, value)
    if (this.loaded) defineOwn(this.#data, key, value)
    this.#markChanged()
  }

  #markChanged(): void {
    if (this.#status === SessionStatus.Unchanged) this.#status = SessionStatus.Changed
  }

  #load(): Promise<void> {
    this.read = true
    if (this.loaded) return Promise.resolve()
    this.#loading ??= this.#fetch()
    return this.#loading
  }

  async #fetch(): Promise<void> {
    let record: SessionRecord | null = null
    try {
      const opening = this.openCookie()
      const opened = opening instanceof Promise ? await opening : opening
      if (opened !== null) record = await this.#backend.load(opened.id)
    } catch (error) {
      this.error = error instanceof StoreError ? error : new StoreError('backend', 'the session store failed to load a session', { cause: error })
      this.#loading = undefined
      throw this.error
    }
    if (this.loaded) return // purged while loading: the purge decides
    this.record = record
    this.#data = applyChanges(record?.data ?? {}, this.changes)
    this.loaded = true
  }
}
