// A middleware's Set-Cookie goes to the browser, but the route it leads to (a page, a route
// handler) still reads the request's old Cookie header through `cookies()`. Next.js closes that gap
// for cookies set with `NextResponse#cookies`: it copies them into the `x-middleware-set-cookie`
// header of the middleware's response, and the server merges that header into what `cookies()`
// returns during the render (and strips it from what the browser gets). cloakroom writes its exact
// `Set-Cookie` line itself, so it adds the line to that header the same way.

const SHARED = 'x-middleware-set-cookie'

/**
 * Makes the session cookie a middleware's response sets visible to `cookies()` in the route it
 * continues to (`NextResponse.next()` or a rewrite); a redirect or a plain response is left alone.
 *
 * @example
 * ```ts
 * const response = await commitToResponse(manager, session, NextResponse.next(), request)
 * shareWithRender(response, 'id')
 * ```
 */
export function shareWithRender(response: Response, cookieName: string): void {
  const { headers } = response
  if (headers.get('x-middleware-next') === null && headers.get('x-middleware-rewrite') === null) return
  const ours = headers.getSetCookie().filter((line) => line.startsWith(`${cookieName}=`))
  if (ours.length === 0) return
  const current = headers.get(SHARED)
  headers.set(SHARED, [current, ...ours].filter((part) => part !== null && part !== '').join(', '))
}
