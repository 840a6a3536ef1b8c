import type { ExtendableContext } from 'koa'
import { commitPurgeOnly } from '../../core/commit-rule.js'
import type { SessionEngine } from '../../core/engine.js'
import type { Session } from '../../core/session.js'
import { holdResponseHead } from '../../http/hold-head.js'
import { nodeHeaderView } from '../../http/node-headers.js'
import { replaceResponse } from './replace.js'
import type { JsonShape } from '../../core/json.js'

/**
 * After a downstream throw, before it is rethrown. When what was thrown is the session's own store
 * failure, the response becomes the engine's opaque failure answer (the same as for a caught one)
 * and this resolves `true`: the error is answered, not rethrown. Any other throw goes on to the
 * app's error handling (resolves `false`), and the session is committed as the head of the error
 * response leaves, with the status and headers it leaves with, whoever renders it (Koa's
 * `ctx.onerror`, or an error-handling middleware mounted outside ours). Merging any earlier would
 * be undone: Koa's onerror first removes every header. When no response will be written (the head
 * is already out, the client is gone, or the response closes unwritten), only a purge is committed.
 *
 * @example
 * ```ts
 * try {
 *   await next()
 * } catch (error) {
 *   if (!(await answerThrow(engine, session, ctx, error, () => undefined))) throw error
 * }
 * ```
 */
export async function answerThrow<Data extends JsonShape<Data>>(
  engine: SessionEngine<Data>,
  session: Session<Data>,
  ctx: ExtendableContext,
  thrown: unknown,
  requestFor: () => Request | undefined,
): Promise<boolean> {
  const failure = engine.failureResponse(session, thrown, requestFor())
  if (failure !== null) {
    replaceResponse(ctx, await failure)
    return true
  }
  await commitAfterThrow(engine, session, ctx, requestFor)
  return false
}

async function commitAfterThrow<Data extends JsonShape<Data>>(
  engine: SessionEngine<Data>,
  session: Session<Data>,
  ctx: ExtendableContext,
  requestFor: () => Request | undefined,
): Promise<void> {
  if (!engine.pending(session)) return
  if (ctx.headerSent || !ctx.writable) {
    await commitPurgeOnly(engine, session, requestFor())
    return
  }
  const { res } = ctx
  let committed = false
  holdResponseHead(res, {
    shouldHold: () => engine.pending(session),
    beforeHead: () => {
      committed = true
      return engine.commit(session, { status: res.statusCode, headers: nodeHeaderView(res) }, requestFor())
    },
  })
  res.once('close', () => {
    if (!committed) void commitPurgeOnly(engine, session, requestFor())
  })
}
