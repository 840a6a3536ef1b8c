import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import type { ExtendableContext } from 'koa'

/** Stops a body that will not be sent: a stream is destroyed, so its file or socket is released. */
function discard(body: unknown): void {
  if (body === null || typeof body !== 'object') return
  const candidate = body as { pipe?: unknown; destroy?: () => void; once?: (event: string, listener: () => void) => void }
  if (typeof candidate.pipe === 'function' && typeof candidate.destroy === 'function') {
    // Koa 3 destroys it too when the body is set to null; Koa 2 does not. Destroying twice is harmless.
    candidate.once?.('error', () => {})
    candidate.destroy()
  } else if (body instanceof ReadableStream) body.cancel().catch(() => {})
  else if (body instanceof Response) body.body?.cancel().catch(() => {})
}

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
  discard(old)
  ctx.status = replacement.status
  if (replacement.body !== null) {
    ctx.body = Readable.fromWeb(replacement.body as NodeReadableStream<Uint8Array>)
    // Koa labels a stream body application/octet-stream; keep only what the replacement says.
    if (!replacement.headers.has('content-type')) ctx.remove('Content-Type')
  }
  for (const [name, value] of replacement.headers) {
    if (name !== 'set-cookie') ctx.set(name, value)
  }
  const cookies = replacement.headers.getSetCookie()
  if (cookies.length > 0) ctx.set('Set-Cookie', cookies)
}
