import type { IncomingMessage, ServerResponse } from 'node:http'
import type { HeaderView, SessionEngine } from '../core/engine.js'
import type { Logger } from '../core/logger.js'
import { sessionFailure } from '../core/manager.js'
import type { Session } from '../core/session.js'
import type { HoldHooks } from './head-holder.js'
import { holdResponseHead } from './hold-head.js'
import { NodeHeaderView } from './node-headers.js'
import type { JsonShape } from '../core/json.js'

/**
 * The commits of one node:http response's session, from {@link holdSession}.
 *
 * @example
 * ```ts
 * const commits = holdSession(req, res, manager, session, undefined)
 * try {
 *   handler(req, res, session)
 * } catch (error) {
 *   commits.fail(error, console.error)
 * }
 * ```
 */
export interface NodeSessionCommits {
  /** The handler failed: whatever it changed after the head left is not committed. */
  abandon(): void
  /**
   * The handler threw `error` ({@link NodeSessionCommits.abandon}, then): `report` hears of it unless
   * it is the session's own store failure (the manager logs that one, and its reply replaces this
   * one); the reply becomes an empty 500 with `Cache-Control: no-store` if nothing was sent (its
   * commit, a purge's at most, rides on it), the connection is destroyed if half a reply is out, and
   * a finished reply is left as it is. A `report` that throws is ignored: there is nobody left to tell.
   */
  fail(error: unknown, report: (error: unknown, req: IncomingMessage) => void): void
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
 * Commits a node:http (or Express) response's session before its head leaves (the head is held
 * until the store answered: {@link holdResponseHead}), and again when the response closes if the
 * handler changed the session after that: `res.write('x'); session.purge(); res.end()` still
 * deletes the record, and a client that hangs up mid-body does not undo a purge. Such a late commit
 * can no longer set or clear the cookie; when it would have, a warning goes to the manager's
 * logger. Nothing is committed late after a replaced (failed) reply or {@link NodeSessionCommits.abandon}.
 *
 * Commits run one after the other, so a late one starts from what the head's commit made (the
 * record it created, the id it renewed to). The late one runs at the response's 'close', that is
 * once the last byte was handed to the socket: the store is written just after the client could
 * have the whole reply, not before.
 *
 * `requestOf` makes the web `Request` the manager passes to `onError` and `describe`; `undefined`
 * when neither is configured (see `readsRequest`), so no request pays for copying its headers.
 *
 * @example
 * ```ts
 * const session = manager.begin(cookieHeaderOf(req))
 * holdSession(req, res, manager, session, readsRequest(options) ? toWebRequest : undefined)
 * next()
 * ```
 */
export function holdSession<Data extends JsonShape<Data>, Req extends IncomingMessage>(
  req: Req,
  res: ServerResponse,
  manager: SessionEngine<Data>,
  session: Session<Data>,
  requestOf: ((req: Req) => Request) | undefined,
): NodeSessionCommits {
  const commits = new SessionCommits(req, res, manager, session, requestOf)
  holdResponseHead(res, commits)
  return commits
}

/** One object per response (its hooks, its commits and their order), so a request allocates little. */
class SessionCommits<Data extends JsonShape<Data>, Req extends IncomingMessage> implements HoldHooks, NodeSessionCommits {
  #last: Promise<Response | null> | undefined
  #abandoned = false

  constructor(
    readonly req: Req,
    readonly res: ServerResponse,
    readonly manager: SessionEngine<Data>,
    readonly session: Session<Data>,
    readonly requestOf: ((req: Req) => Request) | undefined,
  ) {
    // 'close' comes once, after 'finish' or when the connection drops, so `on` is enough.
    res.on('close', () => this.#closed())
  }

  shouldHold(): boolean {
    return this.manager.pending(this.session)
  }

  beforeHead(): Promise<Response | null> {
    const commit = this.#last === undefined ? this.#commitAtHead() : this.#last.then(() => this.#commitAtHead())
    this.#last = commit
    return commit
  }

  abandon(): void {
    this.#abandoned = true
  }

  fail(error: unknown, report: (error: unknown, req: IncomingMessage) => void): void {
    this.#abandoned = true
    if (error !== sessionFailure(this.session)) {
      try {
        report(error, this.req)
      } catch {
        // The reporter failed too; the response is all that is left to do.
      }
    }
    const { res } = this
    if (!res.headersSent) {
      // A 500 commits nothing but a purge; and when the session's own read failed, the commit hands back the
      // manager's failure reply instead, which replaces this one as the head leaves.
      for (const name of res.getHeaderNames()) res.removeHeader(name)
      res.statusCode = 500
      res.setHeader('cache-control', 'no-store')
      res.end()
    } else if (!res.writableEnded) {
      // Half a reply is out (or queued): it cannot be finished truthfully.
      res.destroy()
    }
    // A reply the handler had already finished stands; its commit began as its head left.
  }

  #request(): Request | undefined {
    return this.requestOf === undefined ? undefined : this.requestOf(this.req)
  }

  #commitAtHead(): Promise<Response | null> {
    const { res } = this
    return this.manager.commit(this.session, { status: res.statusCode, headers: new NodeHeaderView(res), final: false }, this.#request())
  }

  #closed(): void {
    // With no commit before it, the store call starts here, in the same tick.
    const late = this.#last === undefined ? this.#lateCommit(null) : this.#last.then((previous) => this.#lateCommit(previous), () => null)
    if (late === null) return
    this.#last = Promise.resolve(late).catch((error: unknown) => {
      this.manager.logger.error(`cloakroom: committing a session change made after the response head failed (${String(error)})`)
      return null
    })
  }

  #lateCommit(previous: Response | null): Promise<Response | null> | null {
    if (previous !== null || this.#abandoned || !this.manager.pending(this.session)) return null
    const { res } = this
    return this.manager.commit(this.session, { status: res.statusCode, headers: lateHeaders(res, this.manager.logger) }, this.#request())
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
