/** Whatever can take a response header: a `ServerResponse`, a Fastify reply, a Koa context. */
export type SetHeader = (name: string, value: string | string[]) => void

/**
 * Copies a web `Response`'s headers through `setHeader`, each `Set-Cookie` line kept apart (the
 * `Headers` iterator would join them with commas, which breaks cookies whose `Expires` holds one).
 *
 * @example
 * ```ts
 * copyResponseHeaders(replacement, (name, value) => res.setHeader(name, value))
 * ```
 */
export function copyResponseHeaders(response: Response, setHeader: SetHeader): void {
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') setHeader(name, value)
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) setHeader('set-cookie', cookies)
}

/**
 * Stops a body that will not be sent: a Node stream is destroyed and a web stream or `Response`
 * body cancelled, so the file or socket behind it is released. Anything else is left to the GC.
 *
 * @example
 * ```ts
 * discardBody(ctx.body) // before replacing a Koa body with an error response
 * ```
 */
export function discardBody(body: unknown): void {
  if (body === null || typeof body !== 'object') return
  const candidate = body as { pipe?: unknown; destroy?: () => void; once?: (event: string, listener: () => void) => void }
  if (typeof candidate.pipe === 'function' && typeof candidate.destroy === 'function') {
    // A late 'error' from the destroyed stream must not become an uncaught exception.
    candidate.once?.('error', () => {})
    candidate.destroy()
  } else if (body instanceof ReadableStream) body.cancel().catch(() => {})
  else if (isWebResponse(body)) body.body?.cancel().catch(() => {})
}

/**
 * Whether `value` is a web `Response`, also one from another realm (as Fastify tests it).
 *
 * @example
 * ```ts
 * if (isWebResponse(payload)) reply.code(payload.status)
 * ```
 */
export function isWebResponse(value: unknown): value is Response {
  return value !== null && typeof value === 'object' && Object.prototype.toString.call(value) === '[object Response]'
}
