import { Hono } from 'hono'
import { html, raw } from 'hono/html'
import { sessions } from '../src/adapters/hono/index.js'
import type { SessionOptions } from '../src/core/options.js'

interface DemoData {
  counter?: number
  user?: string
}

const page = (body: ReturnType<typeof html>): ReturnType<typeof html> => html`<!doctype html>
  <html lang="en">
    <head>
      <meta charset="utf-8" />
      <title>cloakroom demo</title>
      <style>
        body { font: 16px/1.5 system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem; }
        form { display: inline-block; margin-right: 0.5rem; }
        code { background: #f4f4f4; padding: 0 0.25rem; }
      </style>
    </head>
    <body>
      <h1>🧥 cloakroom</h1>
      ${body}
      <p><a href="/">counter</a> · <a href="/status">session status</a></p>
    </body>
  </html>`

/**
 * The demo app: a counter, log in (which renews the session id), log out (which purges it) and a
 * page that shows the session's status. Used by `npm start` and by the demo's tests.
 */
export function demoApp(options: SessionOptions, storeName: string): Hono {
  const app = new Hono()
  app.use(sessions<DemoData>(options))

  app.get('/', async (c) => {
    const session = c.get('session')
    const counter = ((await session.get('counter')) ?? 0) as number
    const user = (await session.get('user')) as string | undefined
    return c.html(
      page(html`
        <p>Store: <code>${storeName}</code></p>
        <p>${user ? html`Signed in as <strong>${user}</strong>.` : 'Not signed in.'}</p>
        <p>Counter: <strong id="counter">${counter}</strong></p>
        <form method="post" action="/increment"><button>+1</button></form>
        ${user
          ? html`<form method="post" action="/logout"><button>Log out (purge)</button></form>`
          : html`<form method="post" action="/login">
              <input name="user" placeholder="name" required maxlength="40" />
              <button>Log in (renew)</button>
            </form>`}
      `),
    )
  })

  app.post('/increment', async (c) => {
    const session = c.get('session')
    await session.updateOr('counter', 1, (n) => (n as number) + 1)
    return c.redirect('/', 303)
  })

  app.post('/login', async (c) => {
    const form = await c.req.parseBody()
    const user = String(form.user ?? '').trim().slice(0, 40) || 'guest'
    const session = c.get('session')
    session.insert('user', user)
    // A new id on every privilege change: an id seen before login is worthless after it.
    session.renew()
    return c.redirect('/', 303)
  })

  app.post('/logout', (c) => {
    c.get('session').purge()
    return c.redirect('/', 303)
  })

  app.get('/status', async (c) => {
    const session = c.get('session')
    const entries = await session.entries()
    return c.html(
      page(html`
        <p>Status of this request's session: <code id="status">${session.status}</code></p>
        <p>Entries:</p>
        <pre id="entries">${raw(JSON.stringify(entries, null, 2).replace(/</g, '&lt;'))}</pre>
      `),
    )
  })

  app.get('/status.json', async (c) => {
    const session = c.get('session')
    return c.json({ status: session.status, entries: await session.entries() })
  })

  return app
}
