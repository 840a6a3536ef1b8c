import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import type { ExtendableContext } from 'koa'
import { copyResponseHeaders, discardBody } from '../../http/copy-response.js'

/**
 * Replaces the whole Koa response with `replacement` before Koa writes it: every header the
 * downstream set is removed, the old body is dropped (a stream body destroyed), then the
 * replacement's status, body and headers (each `Set-Cookie` line apart) take their place.
 *
 * The order matters: headers first, because `ctx.body = null` on a JSON response turns into the
 * string `'null'`; the body before the status, because a null body sets 204.
 */
export function replaceResponse(ctx: ExtendableContext, replacement: Response): void {
  const old: unknown = ctx.body
  for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name)
  ctx.body = null
  discardBody(old)
  ctx.status = replacement.status
  if (replacement.body !== null) {
    ctx.body = Readable.fromWeb(replacement.body as NodeReadableStream<Uint8Array>)
    // Koa labels a stream body application/octet-stream; keep only what the replacement says.
    if (!replacement.headers.has('content-type')) ctx.remove('Content-Type')
  }
  copyResponseHeaders(replacement, (name, value) => ctx.set(name, value))
}
