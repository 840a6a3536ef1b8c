import type { Logger } from './logger.js'
import type { Session } from './session.js'
import type { JsonShape, SessionData } from './json.js'

/**
 * A minimal view of a response's headers that adapters hand to `commit`. The web `Headers` class
 * fits as is; `http/node` wraps a `ServerResponse`.
 */
export interface HeaderView {
  /** The header's value, combined as `Headers.get` does, or `null`. */
  get(name: string): string | null
  set(name: string, value: string): void
  /** Adds a line (used for `Set-Cookie`, which must never be combined). */
  append(name: string, value: string): void
}

/** What the manager needs to know about the response it commits into. */
export interface ResponseView {
  status: number
  headers: HeaderView
  /**
   * `false` when the session may still change after this commit and be committed again (a Node
   * response whose head leaves before its body is written). By default the commit is the last:
   * a later write throws `SessionCommittedError`.
   */
  final?: boolean
}

/**
 * The three calls every adapter is built on (and the fetch-level `handle()` too).
 */
export interface SessionEngine<Data extends JsonShape<Data> = SessionData> {
  /** Starts a request's session from its `Cookie` header. Synchronous and cheap: nothing is opened or loaded yet. */
  begin(cookieHeader: string | null | undefined): Session<Data>
  /**
   * False when a commit would touch neither the store nor the headers (untouched routes pay no
   * promise). After a commit, whether the session was written to since.
   */
  pending(session: Session<Data>): boolean
  /**
   * Writes the session to its store and merges `Set-Cookie`, `Cache-Control` and `Vary` into the
   * response's headers. Resolves to `null`, or to a `Response` that must replace the whole reply
   * (store error, cookie too large, `onError`). Never rejects for session errors.
   */
  commit(session: Session<Data>, response: ResponseView, request?: Request): Promise<Response | null>
  /**
   * For an error that escaped the handler: when it is the session's own store failure (thrown by
   * `await session.get()` and left uncaught), the response to answer instead, the same opaque one
   * as for a caught failure (an empty 500 with `Cache-Control: no-store`, or `onError`'s); `null`
   * when the error is the handler's own, to go on to the framework.
   */
  failureResponse(session: Session<Data>, thrown: unknown, request?: Request): Promise<Response> | null
  /** Where the manager reports: the `logger` option over the console defaults. */
  readonly logger: Logger
}
