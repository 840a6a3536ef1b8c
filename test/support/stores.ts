import { StoreError } from '../../src/core/errors.js'
import type { ChangeSet, Gone, SessionRecord, SessionStore } from '../../src/core/store.js'

export type StoreMethod = 'load' | 'create' | 'apply' | 'renew' | 'touch' | 'delete'

/**
 * Wraps a real store and counts the calls the manager makes, so tests can assert "no store call"
 * and "exactly one load". Optionally holds a call until the test releases it (to stage races) or
 * fails it (to stage outages).
 */
export class CountingStore implements SessionStore {
  readonly calls: Record<StoreMethod, number> = { load: 0, create: 0, apply: 0, renew: 0, touch: 0, delete: 0 }
  /** A method listed here rejects with a StoreError. */
  failing = new Set<StoreMethod>()
  /** A method listed here waits for the returned gate before running. */
  readonly #gates = new Map<StoreMethod, Promise<void>>()

  constructor(readonly inner: SessionStore) {}

  get canInvalidate(): boolean {
    return this.inner.canInvalidate
  }

  total(): number {
    return Object.values(this.calls).reduce((a, b) => a + b, 0)
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

  async #enter(method: StoreMethod): Promise<void> {
    this.calls[method]++
    await this.#gates.get(method)
    if (this.failing.has(method)) throw new StoreError('unavailable', `the test store refuses ${method} (secret implementation details)`)
  }

  async load(id: string): Promise<SessionRecord | null> {
    await this.#enter('load')
    return this.inner.load(id)
  }
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    await this.#enter('create')
    return this.inner.create(record, ttlMs)
  }
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    await this.#enter('apply')
    return this.inner.apply(id, changes, ttlMs)
  }
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Gone> {
    await this.#enter('renew')
    return this.inner.renew(id, changes, ttlMs)
  }
  async touch(id: string, ttlMs: number): Promise<string | Gone> {
    await this.#enter('touch')
    return this.inner.touch(id, ttlMs)
  }
  async delete(id: string): Promise<void> {
    await this.#enter('delete')
    return this.inner.delete(id)
  }
}
