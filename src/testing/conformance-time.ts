import assert from 'node:assert/strict'
import type { SessionStore } from '../core/store.js'

/** A stretch of time on the clock a store judges expiry by; `ended()` resolves once it has passed there. */
export interface Span {
  ended(): Promise<void>
}

/**
 * How the conformance suite's expiry cases let time pass for a store: by moving an injected clock
 * (deterministic and instant), or by waiting on the backend's own clock (Redis TTLs, SQL `now()`),
 * which fake timers cannot reach.
 */
export interface StoreTime {
  /** A ttl that runs out within a case. */
  readonly shortTtl: number
  /**
   * A ttl, or a distance to an absolute expiry, with room on both sides: a few round trips fit well
   * inside it, so "still alive" and "now expired" can both be checked around its end.
   */
  readonly window: number
  /** Starts `ms` of the store's time from now. */
  span(store: SessionStore, ms: number): Promise<Span>
  /** The time until the store's clock is past `instant` (epoch ms, as `absoluteExpiresAt`). */
  until(store: SessionStore, instant: number): Promise<Span>
}

const MINUTE = 60_000
// Longer than any span the cases ask for, so a control record outlives the instant it marks.
const CONTROL_TTL = 30 * MINUTE
// How long past its due instant a control record may still load before the case fails as hung.
const HANG_GUARD_MS = 5_000
const POLL_MS = 20

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Time by an injected clock: `advance(store, ms)` moves the store's clock forward. Spans are
 * minutes long, so the real milliseconds a case takes cannot matter.
 */
export function injectedClockTime(advance: (store: SessionStore, ms: number) => Promise<void> | void): StoreTime {
  // How far each store's clock has been moved, so that overlapping spans advance it only once.
  const advanced = new WeakMap<SessionStore, number>()
  const moveTo = async (store: SessionStore, offset: number): Promise<void> => {
    const current = advanced.get(store) ?? 0
    if (offset <= current) return
    advanced.set(store, offset)
    await advance(store, offset - current)
  }
  return {
    shortTtl: 10 * MINUTE,
    window: 10 * MINUTE,
    async span(store, ms) {
      const start = advanced.get(store) ?? 0
      return { ended: () => moveTo(store, start + ms + 1) }
    },
    async until(store, instant) {
      // The clock reads Date.now() plus what it was moved by (the suite writes instants from Date.now()).
      return { ended: () => moveTo(store, instant - Date.now() + 1) }
    },
  }
}

/**
 * Time by the backend's own clock. A span is a control record created now with the span as its
 * ttl (or `instant` as its absolute expiry); it has ended once the store itself loads the control
 * as null. That is an event on the backend's clock, so no margin is guessed for the expired side,
 * and a record created before the control has expired by then too.
 */
export function backendClockTime(): StoreTime {
  const control = async (store: SessionStore, ttlMs: number, absoluteExpiresAt: number | null, dueAt: number): Promise<Span> => {
    const id = await store.create({ data: { control: true }, createdAt: Date.now(), absoluteExpiresAt }, ttlMs)
    return { ended: () => untilGone(store, id, dueAt) }
  }
  return {
    shortTtl: 300,
    window: 2_000,
    span: (store, ms) => control(store, ms, null, Date.now() + ms),
    until: (store, instant) => control(store, CONTROL_TTL, instant, instant),
  }
}

async function untilGone(store: SessionStore, id: string, dueAt: number): Promise<void> {
  const deadline = dueAt + HANG_GUARD_MS
  while ((await store.load(id)) !== null) {
    if (Date.now() > deadline) {
      assert.fail(`a record due to expire ${Date.now() - dueAt} ms ago still loads: the store does not expire records on time`)
    }
    await pause(POLL_MS)
  }
}
