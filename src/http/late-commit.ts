import type { ServerResponse } from 'node:http'
import type { HeaderView, SessionEngine } from '../core/engine.js'
import type { Logger } from '../core/logger.js'
import type { Session } from '../core/session.js'
import { nodeHeaderView } from './node-headers.js'
import type { JsonShape } from '../core/json.js'

/**
 * The commits of one node:http response's session, from {@link commitsFor}.
 *
 * @example
 * ```ts
 * const commits = commitsFor(res, manager, session, () => undefined)
 * holdResponseHead(res, { shouldHold: () => manager.pending(session), beforeHead: commits.atHead })
 * ```
 */
export interface NodeSessionCommits {
  /** Commits into the response's (held) head: `beforeHead` for `holdResponseHead`. */
  atHead(): Promise<Response | null>
  /** The handler failed: whatever it changed after the head left is not committed. */
  abandon(): void
}

const HEAD_LEFT =
  'cloakroom: the session changed after the response head had been sent; the store was written, but the cookie change ' +
  'could not be sent because the head had already been sent (the client keeps its old cookie, and a cookie-store ' +
  'session keeps its old data). Change the session before writing the body: before res.write, res.writeHead, ' +
  'res.flushHeaders or piping into the response.'

const CLOSED_EARLY =
  'cloakroom: the connection closed before the response head was sent; the session was written to the store, but its ' +
  'cookie change could not be sent.'

/**
 * Commits a node:http (or Express) response's session as its head leaves, and again when the
 * response closes if the handler changed the session after that: `res.write('x'); session.purge();
 * res.end()` still deletes the record, and a client that hangs up mid-body does not undo a purge.
 * Such a late commit can no longer set or clear the cookie; when it would have, a warning goes to
 * the manager's logger. Nothing is committed late after a replaced (failed) reply or {@link NodeSessionCommits.abandon}.
 *
 * Commits run one after the other, so a late one starts from what the head's commit made (the
 * record it created, the id it renewed to). The late one runs at the response's 'close', that is
 * once the last byte was handed to the socket: the store is written just after the client could
 * have the whole reply, not before.
 *
 * @example
 * ```ts
 * const session = manager.begin(cookieHeaderOf(req))
 * const commits = commitsFor(res, manager, session, () => undefined)
 * holdResponseHead(res, { shouldHold: () => manager.pending(session), beforeHead: commits.atHead })
 * ```
 */
export function commitsFor<Data extends JsonShape<Data>>(
  res: ServerResponse,
  manager: SessionEngine<Data>,
  session: Session<Data>,
  request: () => Request | undefined,
): NodeSessionCommits {
  const { logger } = manager
  let last: Promise<Response | null> | undefined
  let abandoned = false

  const lateCommit = (previous: Response | null): Promise<Response | null> | null => {
    if (previous !== null || abandoned || !manager.pending(session)) return null
    return manager.commit(session, { status: res.statusCode, headers: lateHeaders(res, logger) }, request())
  }

  // 'close' comes once, after 'finish' or when the connection drops, so `on` is enough.
  res.on('close', () => {
    // With no commit before it, the store call starts here, in the same tick.
    const late = last === undefined ? lateCommit(null) : last.then(lateCommit, () => null)
    if (late === null) return
    last = Promise.resolve(late).catch((error: unknown) => {
      logger.error(`cloakroom: committing a session change made after the response head failed (${String(error)})`)
      return null
    })
  })

  return {
    atHead() {
      const start = (): Promise<Response | null> =>
        manager.commit(session, { status: res.statusCode, headers: nodeHeaderView(res), final: false }, request())
      const commit = last === undefined ? start() : last.then(start)
      last = commit
      return commit
    },
    abandon() {
      abandoned = true
    },
  }
}

/** Headers that have already left: a cookie the commit wants to set or clear is reported instead. */
function lateHeaders(res: ServerResponse, logger: Logger): HeaderView {
  return {
    get: () => null,
    set: () => undefined,
    append(name: string): void {
      if (name.toLowerCase() === 'set-cookie') logger.warn(res.headersSent ? HEAD_LEFT : CLOSED_EARLY)
    },
  }
}
