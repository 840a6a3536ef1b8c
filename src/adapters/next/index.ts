/**
 * Next.js App Router: `nextSessions(options)`, then `read()` in server components, `write()` in
 * server actions, `route()` around route handlers and `middleware()` around `middleware.ts`.
 *
 * @module
 */
export { nextSessions, type NextSessions, type NextSessionOptions, type NextHeaderList, type RouteHandler } from './sessions.js'
export { SessionReadOnlyError } from './read-only.js'
export type { NextCookie, NextCookieJar } from './cookie-jar.js'
