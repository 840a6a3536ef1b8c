// Small helpers the Redis store tests share: change sets and records, where a session's hash lives,
// the StoreError a call must fail with, and a one-off command on one node.
import { createClient } from 'redis'
import { StoreError } from '../../src/core/errors.js'
import type { ChangeSet, SessionRecord } from '../../src/core/store.js'
import { storageKey } from '../../src/stores/shared/ids.js'

export function changes(partial: Partial<ChangeSet> = {}): ChangeSet {
  return { clear: false, set: {}, remove: [], ...partial }
}

export function record(data: SessionRecord['data']): SessionRecord {
  return { data, createdAt: Date.now(), absoluteExpiresAt: null }
}

/** The Redis key of session `id` under `prefix`: its lineage tag as the hash tag, then SHA-256 of the id. */
export function keyIn(prefix: string, id: string): string {
  return `${prefix}{${id.split('.')[0]}}${storageKey(id)}`
}

/** The StoreError `promise` rejects with; fails the test if it resolves or rejects otherwise. */
export async function failure(promise: Promise<unknown>): Promise<StoreError> {
  const outcome = await promise.then(
    () => new Error('the call succeeded'),
    (error: unknown) => error,
  )
  if (!(outcome instanceof StoreError)) throw outcome
  return outcome
}

/** Sends one command to the node on `port` over a connection of its own. */
export async function onNode(port: number, args: string[]): Promise<unknown> {
  const node = await createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => {}).connect()
  try {
    return await node.sendCommand(args)
  } finally {
    await node.close()
  }
}
