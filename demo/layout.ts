import { html } from 'hono/html'

/** What `html` templates produce: escaped markup, possibly still resolving. */
export type Markup = ReturnType<typeof html>

/**
 * The demo's one stylesheet, served at `/style.css` (an external file, so the pages' Content
 * Security Policy can forbid inline styles and scripts).
 */
export const STYLESHEET = `
:root { --ink: #1f2328; --muted: #656d76; --line: #d8dee4; --accent: #2458b3; --paper: #fff; --wash: #f6f8fa; }
* { box-sizing: border-box; }
body { font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: var(--wash); margin: 0; }
header { background: var(--ink); color: #fff; }
header .bar, main { max-width: 48rem; margin: 0 auto; padding: 0.75rem 1rem; }
header .bar { display: flex; align-items: center; gap: 1.25rem; flex-wrap: wrap; }
header h1 { font-size: 1.2rem; margin: 0; }
header nav a { color: #fff; margin-right: 1rem; text-decoration: none; }
header nav a:hover { text-decoration: underline; }
main > section, main > .panel { background: var(--paper); border: 1px solid var(--line); border-radius: 6px; padding: 0.75rem 1rem; margin: 1rem 0; }
h2 { font-size: 1.05rem; margin: 0 0 0.5rem; }
form { display: inline-block; margin: 0 0.5rem 0 0; }
input { font: inherit; padding: 0.2rem 0.4rem; }
button { font: inherit; padding: 0.2rem 0.7rem; border: 1px solid var(--accent); background: var(--accent); color: #fff; border-radius: 4px; cursor: pointer; }
code { background: var(--wash); padding: 0 0.25rem; border-radius: 3px; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0; }
th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
td.agent { word-break: break-word; }
tr.current { background: #f3f8ff; }
ul.catalogue { list-style: none; padding: 0; margin: 0; }
ul.catalogue li { display: flex; justify-content: space-between; align-items: center; padding: 0.3rem 0; border-bottom: 1px solid var(--line); }
.badge { display: inline-block; margin-left: 0.4rem; padding: 0 0.4rem; border-radius: 0.3rem; background: var(--accent); color: #fff; font-size: 0.8em; }
.notice { padding: 0.5rem 0.75rem; background: #eef7ee; border-left: 4px solid #3a8a3a; }
.error { padding: 0.5rem 0.75rem; background: #fbeeee; border-left: 4px solid #b33; }
.panel dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 1rem; margin: 0; }
.panel dt { color: var(--muted); }
.panel dd { margin: 0; }
small { color: var(--muted); }
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

/**
 * A full page around `body`, with the session panel after it when given. Interpolations in `html`
 * templates are escaped; only `raw` is not.
 */
export const page = (body: Markup, panel: Markup | '' = ''): Markup => html`<!doctype html>
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <meta name="viewport" content="width=device-width, initial-scale=1" />
      <title>cloakroom demo</title>
      <link rel="stylesheet" href="/style.css" />
    </head>
    <body>
      <header>
        <div class="bar">
          <h1>🧥 cloakroom</h1>
          <nav><a href="/">Shop</a><a href="/devices">Your devices</a><a href="/status">Session data</a></nav>
        </div>
      </header>
      <main>
        ${body}
        ${panel}
      </main>
    </body>
  </html>`

/** The sign-in form: a user name, posted to `/login` (which inserts `userId` and renews). */
export const signInForm = (): Markup => html`<form method="post" action="/login">
  <input name="user" placeholder="name" required maxlength="40" aria-label="user name" />
  <button>Log in (renew)</button>
</form>`
