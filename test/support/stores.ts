import { StoreError } from '../../src/core/errors.js'
import type { Json } from '../../src/core/json.js'
import type { ChangeSet, Missing, RevokeSelection, SessionRecord, SessionStore, UserSessionEntry } from '../../src/core/store.js'
import { MemoryStore } from '../../src/stores/memory/index.js'

export type StoreMethod = 'load' | 'create' | 'apply' | 'renew' | 'touch' | 'delete' | 'take' | 'listByUser' | 'revokeByUser'

/** One store call that settled. */
export interface StoreEvent {
  call: StoreMethod
  /** `performance.now()` when it settled. */
  settledAt: number
  failed: boolean
}

const WRITES = new Set<StoreMethod>(['create', 'apply', 'renew', 'touch', 'delete', 'take'])
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Wraps a real store (a MemoryStore by default) and records what the manager does with it, so
 * tests can assert "no store call", "exactly one load", "nothing left in flight" or "the write
 * finished before the head left". It can also stage faults and races: fail every call or some
 * methods, take its time, or hold a method until the test releases it. It never fakes a backend.
 * Runtime-neutral (the portable suite bundles it for workerd): no node: import.
 */
export class InstrumentedStore implements SessionStore {
  /** Calls started, per method. */
  readonly calls: Record<StoreMethod, number> = { load: 0, create: 0, apply: 0, renew: 0, touch: 0, delete: 0, take: 0, listByUser: 0, revokeByUser: 0 }
  /** Calls settled, in order. */
  readonly events: StoreEvent[] = []
  /** Calls started and not yet settled. */
  inFlight = 0
  /** Methods that reject with a StoreError. */
  failing = new Set<StoreMethod>()
  /** When set, every call rejects with a StoreError carrying this message. */
  brokenWith: string | undefined
  /** Delay before every call, and before every write. */
  delayMs = 0
  writeDelayMs = 0
  readonly #gates = new Map<StoreMethod, Promise<void>>()

  /** Present when the inner store takes one key atomically. */
  readonly take?: (id: string, key: string) => Promise<Json | undefined>
  /** Present when the inner store lists and revokes by user. */
  readonly listByUser?: (userId: string) => Promise<UserSessionEntry[]>
  readonly revokeByUser?: (userId: string, selection: RevokeSelection) => Promise<number | null>

  constructor(readonly inner: SessionStore = new MemoryStore()) {
    const { listByUser, revokeByUser, take } = inner
    if (take !== undefined) this.take = (id, key) => this.#run('take', () => take.call(inner, id, key))
    if (listByUser !== undefined) this.listByUser = (userId) => this.#run('listByUser', () => listByUser.call(inner, userId))
    if (revokeByUser !== undefined) this.revokeByUser = (userId, selection) => this.#run('revokeByUser', () => revokeByUser.call(inner, userId, selection))
  }

  get canInvalidate(): boolean {
    return this.inner.canInvalidate
  }
  get idIsRecord(): boolean | undefined {
    return this.inner.idIsRecord
  }

  /** Whether every call fails (with a message holding internal detail that must never reach a client). */
  get broken(): boolean {
    return this.brokenWith !== undefined
  }
  set broken(value: boolean) {
    this.brokenWith = value ? 'test outage: connection refused (internal detail)' : undefined
  }

  total(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0)
  }

  /** The methods of the settled calls, in order. */
  callOrder(): StoreMethod[] {
    return this.events.map((event) => event.call)
  }

  /** Writes that succeeded. */
  get writes(): number {
    return this.events.filter((event) => WRITES.has(event.call) && !event.failed).length
  }

  /** `performance.now()` when the last successful write settled. */
  get lastWriteDoneAt(): number | undefined {
    return this.events.findLast((event) => WRITES.has(event.call) && !event.failed)?.settledAt
  }

  /** The next calls of `method` wait until the returned function is called. */
  hold(method: StoreMethod): () => void {
    let release!: () => void
    this.#gates.set(method, new Promise<void>((resolve) => (release = resolve)))
    return () => {
      this.#gates.delete(method)
      release()
    }
  }

  async #run<T>(call: StoreMethod, work: () => Promise<T>): Promise<T> {
    this.calls[call]++
    this.inFlight++
    try {
      await this.#gates.get(call)
      if (this.delayMs > 0) await sleep(this.delayMs)
      if (this.writeDelayMs > 0 && WRITES.has(call)) await sleep(this.writeDelayMs)
      if (this.brokenWith !== undefined) throw new StoreError('unavailable', this.brokenWith)
      if (this.failing.has(call)) throw new StoreError('unavailable', `the test store refuses ${call} (secret implementation details)`)
      const result = await work()
      this.events.push({ call, settledAt: performance.now(), failed: false })
      return result
    } catch (error) {
      this.events.push({ call, settledAt: performance.now(), failed: true })
      throw error
    } finally {
      this.inFlight--
    }
  }

  load(id: string): Promise<SessionRecord | null> {
    return this.#run('load', () => this.inner.load(id))
  }
  create(record: SessionRecord, ttlMs: number): Promise<string> {
    return this.#run('create', () => this.inner.create(record, ttlMs))
  }
  apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return this.#run('apply', () => this.inner.apply(id, changes, ttlMs))
  }
  renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    return this.#run('renew', () => this.inner.renew(id, changes, ttlMs))
  }
  touch(id: string, ttlMs: number): Promise<string | Missing> {
    return this.#run('touch', () => this.inner.touch(id, ttlMs))
  }
  delete(id: string): Promise<void> {
    return this.#run('delete', () => this.inner.delete(id))
  }
}
