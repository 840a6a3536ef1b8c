// cloakroom/otel's store wrapper against real stores: it keeps each store's contract (the store
// conformance suite runs through it), offers exactly the optional capabilities of the store it
// wraps, and makes each call a span and a duration point naming kind, operation and outcome, never
// an id, a record or a user id. A real failure (a SQLite store whose database was closed) is an
// error span and an error point, and the store's own error reaches the caller unchanged.
import { trace } from '@opentelemetry/api'
import Database from 'better-sqlite3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { StoreError } from '../../src/core/errors.js'
import { EXPIRED, GONE, MARKER_WINDOW_MS, RENEWED, type SessionRecord, type SessionStore } from '../../src/core/store.js'
import { instrumentStore } from '../../src/otel/index.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { SqliteStore } from '../../src/stores/sqlite/index.js'
import { defineStoreConformance } from '../../src/testing/index.js'
import { findOtelSdk, telemetryKit, useAsyncContext, type TelemetryKit } from './kit.js'

const MINUTE = 60_000
const NO_CHANGES = { clear: false, set: {}, remove: [] }
const record = (data: SessionRecord['data'], userId?: string): SessionRecord => ({
  data,
  createdAt: Date.now(),
  absoluteExpiresAt: null,
  ...(userId === undefined ? {} : { owner: { userId, handle: `handle-of-${userId}`, lastSeenAt: Date.now(), info: {} } }),
})

// The conformance suite, through the wrapper: each wrapped store judges time by its own clock.
const installed = findOtelSdk('the cloakroom/otel store tests (test/otel/store.test.ts)')
const clocks = new WeakMap<SessionStore, { offset: number }>()
let conformanceKit: TelemetryKit | undefined
for (const [name, make] of [
  ['MemoryStore', (clock: () => number) => new MemoryStore({ clock })],
  ['CookieStore', (clock: () => number) => new CookieStore({ clock })],
] as const) {
  defineStoreConformance({
    name: `instrumentStore(${name})`,
    test: { describe: describe.skipIf(!installed), it },
    makeStore: () => {
      const clock = { offset: 0 }
      conformanceKit ??= telemetryKit()
      const store = instrumentStore(make(() => Date.now() + clock.offset), { tracer: conformanceKit.tracer, meter: conformanceKit.meter })
      clocks.set(store, clock)
      return store
    },
    advanceClock: (store, ms) => {
      clocks.get(store)!.offset += ms
    },
    ...(name === 'MemoryStore'
      ? { expireMarkers: async (store: SessionStore) => void (clocks.get(store)!.offset += MARKER_WINDOW_MS + 1) }
      : { canInvalidate: false, listsByUser: false, takes: false }),
  })
}

describe.skipIf(!installed)('instrumentStore', () => {
  let kit: TelemetryKit
  let stopContext: () => void
  beforeAll(() => {
    kit = telemetryKit()
    stopContext = useAsyncContext()
  })
  afterAll(async () => {
    stopContext()
    await kit.close()
    await conformanceKit?.close()
  })
  const spansFrom = (count: number) => kit.spans().slice(count)

  it("offers take, listByUser and revokeByUser exactly when the wrapped store does, and forwards canInvalidate and idIsRecord", () => {
    const server = instrumentStore(new MemoryStore(), kit)
    expect(typeof server.take).toBe('function')
    expect(typeof server.listByUser).toBe('function')
    expect(typeof server.revokeByUser).toBe('function')
    expect(server.canInvalidate).toBe(true)
    expect(server.idIsRecord).toBeFalsy()
    const cookie = instrumentStore(new CookieStore(), kit)
    expect('take' in cookie && cookie.take !== undefined).toBe(false)
    expect('listByUser' in cookie && cookie.listByUser !== undefined).toBe(false)
    expect('revokeByUser' in cookie && cookie.revokeByUser !== undefined).toBe(false)
    expect(cookie.canInvalidate).toBe(false)
    expect(cookie.idIsRecord).toBe(true)
  })

  it('makes each call a span with kind, operation and outcome, and a duration point; no id, record or user id anywhere', async () => {
    const before = kit.spans().length
    const store = instrumentStore(new MemoryStore(), kit)
    const id = await store.create(record({ secretValue: 'kept-in-the-record' }, 'user-ada-42'), MINUTE)
    expect(await store.load(id)).not.toBeNull()
    expect(await store.load('A'.repeat(43))).toBeNull()
    const applied = await store.apply(id, { clear: false, set: { n: 1 }, remove: [] }, MINUTE)
    expect(await store.take!(applied as string, 'n')).toBe(1)
    expect(await store.take!(applied as string, 'n')).toBeUndefined()
    const renewed = await store.renew(applied as string, NO_CHANGES, MINUTE)
    expect(await store.apply(applied as string, NO_CHANGES, MINUTE)).toBe(RENEWED)
    expect(await store.touch(renewed as string, MINUTE)).toBe(renewed)
    expect(await store.listByUser!('user-ada-42')).toHaveLength(1)
    await store.delete(renewed as string)
    expect(await store.touch(renewed as string, MINUTE)).toBe(GONE)
    expect(await store.touch('B'.repeat(43), MINUTE)).toBe(EXPIRED)
    expect(await store.revokeByUser!('user-ada-42', {})).toBe(0)

    const spans = spansFrom(before)
    expect(spans.map((span) => [span.name, span.attributes['cloakroom.store.outcome']])).toEqual([
      ['cloakroom.store.create', 'ok'],
      ['cloakroom.store.load', 'found'],
      ['cloakroom.store.load', 'absent'],
      ['cloakroom.store.apply', 'ok'],
      ['cloakroom.store.take', 'found'],
      ['cloakroom.store.take', 'absent'],
      ['cloakroom.store.renew', 'ok'],
      ['cloakroom.store.apply', 'renewed'],
      ['cloakroom.store.touch', 'ok'],
      ['cloakroom.store.listByUser', 'ok'],
      ['cloakroom.store.delete', 'ok'],
      ['cloakroom.store.touch', 'gone'],
      ['cloakroom.store.touch', 'expired'],
      ['cloakroom.store.revokeByUser', 'ok'],
    ])
    for (const span of spans) {
      expect(span.attributes).toEqual({
        'cloakroom.store.kind': 'memory',
        'cloakroom.store.operation': span.name.slice('cloakroom.store.'.length),
        'cloakroom.store.outcome': expect.any(String),
      })
      expect(span.status.code).toBe(0)
    }
    const everything = JSON.stringify(spans.map((span) => [span.name, span.attributes, span.events, span.status]))
    for (const secret of [id, applied as string, renewed as string, 'user-ada-42', 'handle-of-user-ada-42', 'kept-in-the-record']) expect(everything).not.toContain(secret)

    const points = await kit.points('cloakroom.store.duration')
    const ofMemory = points.filter((p) => p.attributes['cloakroom.store.kind'] === 'memory')
    const count = (operation: string, outcome: string): number =>
      ofMemory.filter((p) => p.attributes['cloakroom.store.operation'] === operation && p.attributes['cloakroom.store.outcome'] === outcome).reduce((n, p) => n + p.value, 0)
    expect(count('touch', 'gone')).toBeGreaterThanOrEqual(1)
    expect(count('touch', 'expired')).toBeGreaterThanOrEqual(1)
    expect(count('load', 'absent')).toBeGreaterThanOrEqual(1)
    expect(JSON.stringify(points)).not.toContain('user-ada-42')
  })

  it('a real failure (the SQLite database closed under the store) is an error span and an error point; the caller gets the store error unchanged', async () => {
    const db = new Database(':memory:')
    const sqlite = new SqliteStore({ db })
    await sqlite.migrate()
    const store = instrumentStore(sqlite, kit)
    const id = await store.create(record({ n: 1 }), MINUTE)
    const before = kit.spans().length
    db.close()
    const failure = await store.load(id).then(
      () => undefined,
      (error: unknown) => error,
    )
    expect(failure).toBeInstanceOf(StoreError)
    expect((failure as StoreError).kind).toBe('unavailable')
    const [span] = spansFrom(before)
    expect(span?.name).toBe('cloakroom.store.load')
    expect(span?.status).toEqual({ code: 2, message: 'store load failed: unavailable' })
    expect(span?.attributes).toEqual({
      'cloakroom.store.kind': 'sqlite',
      'cloakroom.store.operation': 'load',
      'cloakroom.store.outcome': 'error',
      'error.type': 'unavailable',
    })
    expect(JSON.stringify(span?.attributes)).not.toContain(id)
    const errors = (await kit.points('cloakroom.store.duration')).filter((p) => p.attributes['cloakroom.store.kind'] === 'sqlite' && p.attributes['cloakroom.store.outcome'] === 'error')
    expect(errors).toEqual([{ attributes: { 'cloakroom.store.kind': 'sqlite', 'cloakroom.store.operation': 'load', 'cloakroom.store.outcome': 'error', 'error.type': 'unavailable' }, value: 1 }])
  })

  it('a store span is a child of the span active when the call starts, and is itself active while the store works', async () => {
    let seenInside: string | undefined
    class Watching extends MemoryStore {
      override load(id: string): Promise<SessionRecord | null> {
        seenInside = trace.getActiveSpan()?.spanContext().spanId
        return super.load(id)
      }
    }
    const store = instrumentStore(new Watching(), { ...kit, kind: 'watched' })
    const before = kit.spans().length
    await kit.tracer.startActiveSpan('GET /page', async (request) => {
      await store.load('C'.repeat(43))
      request.end()
    })
    const [load, request] = spansFrom(before)
    expect(load?.name).toBe('cloakroom.store.load')
    expect(load?.attributes['cloakroom.store.kind']).toBe('watched')
    expect(load?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId)
    expect(seenInside).toBe(load?.spanContext().spanId)
  })
})
