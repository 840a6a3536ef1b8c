import { CloakroomError } from '../../core/errors.js'
import type { JsonShape } from '../../core/json.js'
import type { Session } from '../../core/session.js'

/**
 * A session was changed where Next.js forbids setting cookies (a server component, or a page
 * rendering after a server action ran): the change could never reach the browser. Make it in a
 * server action (`sessions.write()`) or a route handler (`sessions.route()`).
 *
 * @example
 * ```ts
 * const session = await sessions.read() // in a server component
 * session.insert('seen', true) // throws SessionReadOnlyError
 * ```
 */
export class SessionReadOnlyError extends CloakroomError {
  /** What was called: `session.insert()`, `sessions.write()`, … */
  readonly call: string

  constructor(call: string, options?: { cause?: unknown }) {
    super(
      'SESSION_READ_ONLY',
      `cloakroom: ${call} changed the session where Next.js cannot set cookies (a server component); the change could never reach the browser. ` +
        'Change the session in a server action (await sessions.write(...)) or a route handler (sessions.route(...)), and only read it here (sessions.read()).',
      options,
    )
    this.call = call
  }
}

// Only what reads: anything else a session offers (today's writes and any added later) is refused.
const READS = new Set<PropertyKey>(['status', 'get', 'has', 'entries', 'listUserSessions'])

/**
 * A view of `session` that reads and refuses every change with {@link SessionReadOnlyError},
 * thrown at the call (so the stack points at the line to move), even for an un-awaited `update()`.
 */
export function readOnlySession<Data extends JsonShape<Data>>(session: Session<Data>): Session<Data> {
  return new Proxy(session, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (READS.has(property)) return typeof value === 'function' ? value.bind(target) : value
      if (typeof value !== 'function') return value
      return () => {
        throw new SessionReadOnlyError(`session.${String(property)}()`)
      }
    },
    set() {
      return false
    },
  })
}
