import type { FastifyReply } from 'fastify'

function isWebResponse(payload: unknown): payload is Response {
  // Fastify recognises a Response the same way, which also holds across realms.
  return payload !== null && typeof payload === 'object' && Object.prototype.toString.call(payload) === '[object Response]'
}

/**
 * When the payload is a web `Response`, moves its status and headers onto the reply (as Fastify
 * would do after `onSend`) and returns its body; any other payload is returned as it is. Doing it
 * before the commit lets the session's `Cache-Control` and `Vary` merge with the Response's own
 * instead of being overwritten by them.
 */
export function foldWebResponse(reply: FastifyReply, payload: unknown): unknown {
  // A consumed body is Fastify's error to report, with its own message: leave it to Fastify.
  if (!isWebResponse(payload) || (payload.body !== null && payload.bodyUsed)) return payload
  reply.code(payload.status)
  for (const [name, value] of payload.headers) reply.header(name, value)
  return payload.body
}

/** Stops a payload that will not be sent: a stream is destroyed, so its file or socket is released. */
function discard(payload: unknown): void {
  if (payload === null || typeof payload !== 'object') return
  const candidate = payload as { pipe?: unknown; destroy?: () => void }
  if (typeof candidate.pipe === 'function' && typeof candidate.destroy === 'function') candidate.destroy()
  else if (payload instanceof ReadableStream) payload.cancel().catch(() => {})
  else if (isWebResponse(payload)) payload.body?.cancel().catch(() => {})
}

/**
 * Replaces the whole reply with `replacement` from inside `onSend`: the old payload is discarded,
 * every header the route set is removed, and the replacement's status, headers (each `Set-Cookie`
 * line apart) and body take their place. Returns the payload `onSend` must pass on.
 */
export function replaceReply(reply: FastifyReply, payload: unknown, replacement: Response): ReadableStream<Uint8Array> | null {
  discard(payload)
  for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name)
  reply.code(replacement.status)
  for (const [name, value] of replacement.headers) {
    if (name !== 'set-cookie') reply.header(name, value)
  }
  const cookies = replacement.headers.getSetCookie()
  if (cookies.length > 0) reply.header('set-cookie', cookies)
  return replacement.body
}
