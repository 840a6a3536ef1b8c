// cloakroom/otel's event listeners at the manager (`manager.handle`), with a clock the test
// controls: every event counts once with its reason, instrumentEvents adds to an app's own
// listeners and its removal stops the counting.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSessionManager } from '../../src/create.js'
import type { Session } from '../../src/core/session.js'
import { generateKey } from '../../src/crypto/keys.js'
import { instrumentEvents, otelEvents } from '../../src/otel/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { cookieHeader } from '../support/http.js'
import { findOtelSdk, telemetryKit, type Point, type TelemetryKit } from './kit.js'

type Handler = (session: Session) => Response | Promise<Response>
const ok = (): Response => new Response('ok')
const installed = findOtelSdk('the cloakroom/otel event tests (test/otel/events.test.ts)')
const counts = (points: Point[]): Record<string, number> =>
  Object.fromEntries(points.map((p) => [[p.attributes['cloakroom.event.name'], p.attributes['cloakroom.event.reason']].filter(Boolean).join(' '), p.value]))

afterEach(() => {
  vi.useRealTimers()
})

describe.skipIf(!installed)('otelEvents and instrumentEvents', () => {
  let kit: TelemetryKit
  beforeAll(() => {
    kit = telemetryKit()
  })
  afterAll(() => kit.close())

  it('counts every kind of event with its reason on cloakroom.session.events', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: new Date('2026-01-01T00:00:00Z') })
    const store = new MemoryStore({ clock: () => Date.now() })
    const manager = createSessionManager({ store, keys: [generateKey()], lifecycle: { type: 'browser', stateTtl: 60 }, events: otelEvents(kit) })
    const send = (handler: Handler, cookie?: string): Promise<Response> =>
      manager.handle(new Request('http://localhost/', { headers: cookie === undefined ? {} : { cookie } }), handler)

    const first = cookieHeader(await send((session) => (session.insert('n', 1), ok()))) // created
    const renewed = cookieHeader(await send((session) => (session.renew(), ok()), first)) // renewed
    await send((session) => (session.insert('n', 2), ok()), first) // conflict: renewed away
    await send(async (session) => (await session.get('n'), ok()), 'id=not-a-sealed-cookie') // refused: invalid
    await send(async (session) => (await session.get('n'), ok()), `id=${'x'.repeat(5000)}`) // refused: oversized
    vi.setSystemTime(Date.now() + 61_000)
    await send((session) => (session.insert('n', 3), ok()), renewed) // expired: idle, then created
    const last = cookieHeader(await send((session) => (session.insert('n', 1), ok())))
    await send((session) => (session.purge(), ok()), last) // purged

    expect(counts(await kit.points('cloakroom.session.events'))).toEqual({
      created: 3,
      renewed: 1,
      purged: 1,
      'conflict renewed': 1,
      'refused invalid': 1,
      'refused oversized': 1,
      'expired idle': 1,
    })
  })

  it("instrumentEvents adds to the app's own listeners, and its removal stops the counting", async () => {
    const own = telemetryKit()
    const audit: string[] = []
    const manager = createSessionManager({ store: new MemoryStore(), keys: [generateKey()], events: { created: () => void audit.push('created') } })
    const stop = instrumentEvents(manager, own)
    const create = (): Promise<Response> => manager.handle(new Request('http://localhost/'), (session) => (session.insert('n', 1), ok()))
    await create()
    stop()
    await create()
    expect(audit).toEqual(['created', 'created'])
    expect(await own.points('cloakroom.session.events')).toEqual([{ attributes: { 'cloakroom.event.name': 'created' }, value: 1 }])
    await own.close()
  })
})
