// A real store that a test can break: while `broken`, every call fails, as a store whose backend
// is down does (the error's message holds internal detail that must never reach a client).
import { StoreError, type ChangeSet, type Missing, type SessionRecord, type SessionStore } from 'cloakroom'

export class SwitchableStore implements SessionStore {
  broken = false
  constructor(readonly inner: SessionStore) {}
  get canInvalidate(): boolean {
    return this.inner.canInvalidate
  }
  #check(): void {
    if (this.broken) throw new StoreError('unavailable', 'test outage: connection refused at 10.0.0.1:6379 (internal detail)')
  }
  async load(id: string): Promise<SessionRecord | null> {
    this.#check()
    return this.inner.load(id)
  }
  async create(record: SessionRecord, ttlMs: number): Promise<string> {
    this.#check()
    return this.inner.create(record, ttlMs)
  }
  async apply(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    this.#check()
    return this.inner.apply(id, changes, ttlMs)
  }
  async renew(id: string, changes: ChangeSet, ttlMs: number): Promise<string | Missing> {
    this.#check()
    return this.inner.renew(id, changes, ttlMs)
  }
  async touch(id: string, ttlMs: number): Promise<string | Missing> {
    this.#check()
    return this.inner.touch(id, ttlMs)
  }
  async delete(id: string): Promise<void> {
    this.#check()
    return this.inner.delete(id)
  }
}
