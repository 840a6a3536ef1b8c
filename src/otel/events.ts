import { trace, type Attributes } from '@opentelemetry/api'
import type { SessionEventMap, SessionEvents } from '../core/events.js'
import { ATTR_COOKIE_FINGERPRINT, ATTR_EVENT_NAME, ATTR_EVENT_REASON, SESSION_EVENT_PREFIX } from './names.js'
import { telemetry, type OtelOptions, type Telemetry } from './telemetry.js'

type EventName = keyof SessionEventMap

/** Counts one event and notes it on the request's span, if one is active. */
function recorder(shared: Telemetry): (name: EventName, reason?: string, fingerprint?: string) => void {
  const attributes = new Map<string, Attributes>()
  return (name, reason, fingerprint) => {
    const key = reason === undefined ? name : `${name} ${reason}`
    let counted = attributes.get(key)
    if (counted === undefined) {
      counted = reason === undefined ? { [ATTR_EVENT_NAME]: name } : { [ATTR_EVENT_NAME]: name, [ATTR_EVENT_REASON]: reason }
      attributes.set(key, counted)
    }
    shared.sessionEvents.add(1, counted)
    const span = trace.getActiveSpan()
    if (span === undefined) return
    const noted: Attributes = reason === undefined ? {} : { [ATTR_EVENT_REASON]: reason }
    if (fingerprint !== undefined) noted[ATTR_COOKIE_FINGERPRINT] = fingerprint
    span.addEvent(SESSION_EVENT_PREFIX + name, noted)
  }
}

/**
 * Listeners for every lifecycle event that count it on `cloakroom.session.events` (attributes
 * `cloakroom.event.name` and, where the event says why, `cloakroom.event.reason`) and add it as a
 * span event (`cloakroom.session.<name>`) to the span active at that moment, usually the request's.
 * A refused cookie's fingerprint goes on the span event only; a user id never goes anywhere.
 *
 * @example
 * ```ts
 * import { otelEvents } from 'cloakroom/otel'
 * const manager = createSessionManager({ store, keys, events: otelEvents() })
 * ```
 */
export function otelEvents(options: OtelOptions = {}): Required<SessionEvents> {
  return eventsOn(telemetry(options))
}

/** The {@link otelEvents} listeners on instruments already made (shared with a store's). */
export function eventsOn(shared: Telemetry): Required<SessionEvents> {
  const record = recorder(shared)
  return {
    created: () => record('created'),
    renewed: () => record('renewed'),
    purged: () => record('purged'),
    expired: (event) => record('expired', event.cause),
    refused: (event) => record('refused', event.reason, event.fingerprint),
    storeError: (event) => record('storeError', event.error.kind),
    conflict: (event) => record('conflict', event.cause),
    migrated: () => record('migrated'),
  }
}

/**
 * Something that takes event listeners one at a time: a session manager (`manager.on`).
 *
 * @example
 * ```ts
 * const source: SessionEventSource = createSessionManager({ store, keys })
 * ```
 */
export interface SessionEventSource {
  on<E extends EventName>(name: E, listener: (event: SessionEventMap[E]) => void): () => void
}

/**
 * Adds the {@link otelEvents} listeners to a manager that already exists (its own `events` and
 * other listeners stay); returns a function that removes them.
 *
 * @example
 * ```ts
 * import { instrumentEvents } from 'cloakroom/otel'
 * const stop = instrumentEvents(manager)
 * ```
 */
export function instrumentEvents(source: SessionEventSource, options: OtelOptions = {}): () => void {
  const listeners = otelEvents(options)
  const offs = (Object.keys(listeners) as EventName[]).map((name) => source.on(name, listeners[name] as never))
  return () => {
    for (const off of offs) off()
  }
}
