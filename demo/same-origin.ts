import type { MiddlewareHandler } from 'hono'
import { html } from 'hono/html'
import { page } from './layout.js'

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

/**
 * Refuses (403) a state-changing request whose `Origin` header names another origin, before the
 * session is touched. Browsers send `Origin` on every form POST, so a cross-site form is caught
 * here; a request without it (curl, a test) is let through, and the session cookie's
 * `SameSite=Lax` already keeps a cross-site POST from carrying the session. Enough for a demo;
 * see OWASP's Cross-Site Request Forgery Prevention Cheat Sheet ("Verifying Origin With Standard
 * Headers") for the full defence.
 */
export function sameOriginPosts(): MiddlewareHandler {
  return async function sameOrigin(c, next) {
    const origin = c.req.header('origin')
    // `null` is what a browser sends from a sandboxed or opaque origin: never ours.
    if (!SAFE_METHODS.has(c.req.method) && origin !== undefined && origin !== new URL(c.req.url).origin) {
      return c.html(page(html`<p class="error">This form was posted from another site; nothing was changed.</p>`), 403)
    }
    await next()
  }
}
