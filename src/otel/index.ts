/**
 * cloakroom/otel: OpenTelemetry spans and metrics for sessions, through `@opentelemetry/api` (an
 * optional peer dependency: install it to use this entry; the rest of cloakroom never loads it).
 *
 * - each store call is a span `cloakroom.store.<operation>` and a `cloakroom.store.duration`
 *   measurement (seconds), with `cloakroom.store.kind`, `cloakroom.store.operation`,
 *   `cloakroom.store.outcome` and, on failure, `error.type`;
 * - each lifecycle event counts on `cloakroom.session.events` (`cloakroom.event.name`,
 *   `cloakroom.event.reason`) and is added to the active span as `cloakroom.session.<name>`.
 *
 * No attribute ever holds a session id, a cookie value, a user id or key material.
 *
 * @module
 */
import type { SessionEvents } from '../core/events.js'
import type { SessionStore } from '../core/store.js'
import { eventsOn } from './events.js'
import { InstrumentedStore, type InstrumentStoreOptions } from './store.js'
import { telemetry } from './telemetry.js'

export { instrumentStore, type InstrumentStoreOptions } from './store.js'
export { otelEvents, instrumentEvents, type SessionEventSource } from './events.js'
export type { OtelOptions } from './telemetry.js'
export * from './names.js'

/**
 * Instruments a store and builds the event listeners in one call, sharing one set of instruments:
 * spread the result into the manager's (or an adapter's) options.
 *
 * @example
 * ```ts
 * import { createSessionManager } from 'cloakroom'
 * import { otel } from 'cloakroom/otel'
 * import { RedisStore } from 'cloakroom/redis'
 *
 * const manager = createSessionManager({ ...otel(new RedisStore({ client })), keys: [process.env.SESSION_KEY!] })
 * ```
 */
export function otel(store: SessionStore, options: InstrumentStoreOptions = {}): { store: SessionStore; events: Required<SessionEvents> } {
  const shared = telemetry(options)
  return { store: new InstrumentedStore(store, options, shared), events: eventsOn(shared) }
}
