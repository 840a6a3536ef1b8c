import { html } from 'hono/html'

/** What `html` templates produce: escaped markup, possibly still resolving. */
export type Markup = ReturnType<typeof html>

/**
 * The demo's one stylesheet, served at `/style.css` (an external file, so the pages' Content
 * Security Policy can forbid inline styles and scripts).
 */
export const STYLESHEET = `
body { font: 16px/1.5 system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
form { display: inline-block; margin: 0 0.5rem 0 0; }
code { background: #f4f4f4; padding: 0 0.25rem; }
table { border-collapse: collapse; width: 100%; margin: 1rem 0; }
th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
td.agent { word-break: break-word; }
tr.current { background: #f3f8ff; }
.badge { display: inline-block; margin-left: 0.4rem; padding: 0 0.4rem; border-radius: 0.3rem; background: #2458b3; color: #fff; font-size: 0.8em; }
.notice { padding: 0.5rem 0.75rem; background: #eef7ee; border-left: 4px solid #3a8a3a; }
.error { padding: 0.5rem 0.75rem; background: #fbeeee; border-left: 4px solid #b33; }
small { color: #666; }
`.trimStart()

/**
 * Every response's security headers: no script at all, styles from this origin only, forms post
 * to this origin only, no framing. A second line of defence behind escaping (OWASP XSS Prevention).
 */
export const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
}

/** A full page around `body`. Interpolations in `html` templates are escaped; only `raw` is not. */
export const page = (body: Markup): Markup => html`<!doctype html>
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <title>cloakroom demo</title>
      <link rel="stylesheet" href="/style.css" />
    </head>
    <body>
      <h1>🧥 cloakroom</h1>
      ${body}
      <p><a href="/">counter</a> · <a href="/devices">your devices</a> · <a href="/status">session status</a></p>
    </body>
  </html>`

/** The sign-in form: a user name, posted to `/login` (which inserts `userId` and renews). */
export const signInForm = (): Markup => html`<form method="post" action="/login">
  <input name="user" placeholder="name" required maxlength="40" aria-label="user name" />
  <button>Log in (renew)</button>
</form>`
