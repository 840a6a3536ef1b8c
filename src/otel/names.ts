/**
 * The names cloakroom's telemetry uses, in OpenTelemetry's semantic-convention style: lowercase,
 * dot-separated, namespaced under `cloakroom.`, low-cardinality values only. None of them ever
 * carries a session id, a cookie value, a user id or key material.
 *
 * @module
 */

/** The instrumentation scope (tracer and meter name). */
export const SCOPE = 'cloakroom'

/** Span name prefix of a store call: `cloakroom.store.load`, `cloakroom.store.apply`, … */
export const STORE_SPAN_PREFIX = 'cloakroom.store.'

/** Histogram of store call durations, in seconds (as `db.client.operation.duration`). */
export const STORE_DURATION = 'cloakroom.store.duration'

/** Counter of session lifecycle events. */
export const SESSION_EVENTS = 'cloakroom.session.events'

/** Attribute: which store answered (`memory`, `redis`, `postgres`, `sqlite`, `cookie`, or what the app named it). */
export const ATTR_STORE_KIND = 'cloakroom.store.kind'
/** Attribute: the store method called (`load`, `create`, `apply`, `renew`, `touch`, `delete`, `listByUser`, `revokeByUser`). */
export const ATTR_STORE_OPERATION = 'cloakroom.store.operation'
/** Attribute: what the call found: `found`/`absent` (load), `ok`, `gone`, `renewed`, `expired` (writes), or `error`. */
export const ATTR_STORE_OUTCOME = 'cloakroom.store.outcome'
/** Attribute: the class of a failure, as OpenTelemetry's `error.type`: the `StoreError` kind (`timeout`, `unavailable`, …) or the error's class name. */
export const ATTR_ERROR_TYPE = 'error.type'
/** Attribute: the lifecycle event (`created`, `renewed`, `purged`, `expired`, `refused`, `storeError`, `conflict`). */
export const ATTR_EVENT_NAME = 'cloakroom.event.name'
/** Attribute: why, for events that say: `idle`/`absolute` (expired), `invalid`/`oversized`/`unreadable` (refused), the error kind (storeError), `purged`/`renewed` (conflict). */
export const ATTR_EVENT_REASON = 'cloakroom.event.reason'
/** Span event attribute: a refused cookie's fingerprint (tells cookies apart without holding them; too many values for a metric). */
export const ATTR_COOKIE_FINGERPRINT = 'cloakroom.cookie.fingerprint'

/** Span event name prefix of a lifecycle event on the request's span: `cloakroom.session.created`, … */
export const SESSION_EVENT_PREFIX = 'cloakroom.session.'

/**
 * Bucket boundaries (seconds) for store durations: the semantic conventions' database buckets,
 * with finer ones below a millisecond, where in-process stores (memory, cookie, SQLite) answer.
 */
export const DURATION_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
