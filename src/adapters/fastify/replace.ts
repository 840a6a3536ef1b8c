import type { FastifyReply } from 'fastify'
import { copyResponseHeaders, discardBody, isWebResponse } from '../../http/copy-response.js'

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
  copyResponseHeaders(payload, (name, value) => reply.header(name, value))
  return payload.body
}

/**
 * Replaces the whole reply with `replacement` from inside `onSend`: the old payload is discarded,
 * every header the route set is removed, and the replacement's status, headers (each `Set-Cookie`
 * line apart) and body take their place. Returns the payload `onSend` must pass on.
 */
export function replaceReply(reply: FastifyReply, payload: unknown, replacement: Response): ReadableStream<Uint8Array> | null {
  discardBody(payload)
  for (const name of Object.keys(reply.getHeaders())) reply.removeHeader(name)
  reply.code(replacement.status)
  copyResponseHeaders(replacement, (name, value) => reply.header(name, value))
  return replacement.body
}
