import { performance } from 'node:perf_hooks'
import { StoreError } from '../../src/core/errors.js'
import type { ChangeSet, Gone, SessionRecord, SessionStore } from '../../src/core/store.js'

/** One finished store call: which, and when it resolved or rejected (performance.now()). */
export interface StoreEvent {
  call: 'load' | 'create' | 'apply' | 'renew' | 'touch' | 'delete'
  settledAt: number
  failed: boolean
}

/**
 * A real store wrapped so a test can see what the adapter asked of it: every call's settle time,
 * how many calls are still in flight, an optional delay before each call, and an outage switch.
 *
 * @example
 * ```ts
 * const store = new InstrumentedStore(new MemoryStore(), { delayMs: 50 })
 * // ... requests ...
 * expect(store.inFlight).toBe(0)
 * ```
 */
export class InstrumentedStore implements SessionStore {
  readonly events: StoreEvent[] = []
  inFlight = 0
  /** When set, every call fails with a StoreError whose message holds this text. */
  brokenWith: string | undefined
  delayMs: number

  constructor(
    readonly inner: SessionStore,
    options: { delayMs?: number } = {},
  ) {
    this.delayMs = options.delayMs ?? 0
  }

  get canInvalidate(): boolean {
    return this.inner.canInvalidate
  }

  /** The calls made so far, by name, in the order they settled. */
  calls(): StoreEvent['call'][] {
    return this.events.map((event) => event.call)
  }

  async #run<T>(call: StoreEvent['call'], work: () => Promise<T>): Promise<T> {
    this.inFlight++
    try {
      if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs))
      if (this.brokenWith !== undefined) throw new StoreError('unavailable', this.brokenWith)
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
  apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    return this.#run('apply', () => this.inner.apply(id, changes, ttlMs))
  }
  renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    return this.#run('renew', () => this.inner.renew(id, changes, ttlMs))
  }
  touch(id: string, ttlMs: number): Promise<string | Gone> {
    return this.#run('touch', () => this.inner.touch(id, ttlMs))
  }
  delete(id: string): Promise<void> {
    return this.#run('delete', () => this.inner.delete(id))
  }
}
