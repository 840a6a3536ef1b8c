import { Hono } from 'hono'
import { html, raw } from 'hono/html'
import { sessions } from '../src/adapters/hono/index.js'
import type { SessionOptions } from '../src/core/options.js'
import type { DemoData, DemoEnv } from './data.js'
import { describeDevice, deviceCapabilities, deviceRoutes } from './devices.js'
import { formField } from './form.js'
import { page, SECURITY_HEADERS, signInForm, STYLESHEET } from './layout.js'
import { sameOriginPosts } from './same-origin.js'

/**
 * The demo app: a counter, log in (which renews the session id), log out (which purges it), a
 * page that shows the session's status, and "Your devices" (the user's sessions, each one or all
 * the others signed out). Sessions are filed by user under `userId`, with the user agent. Used by
 * `npm start` and by the demo's tests.
 */
export function demoApp(options: SessionOptions, storeName: string): Hono<DemoEnv> {
  const app = new Hono<DemoEnv>()
  app.use(async (c, next) => {
    await next()
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value)
  })
  app.get('/style.css', (c) => c.body(STYLESHEET, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }))
  app.use(sameOriginPosts())
  app.use(sessions<DemoData>({ userKey: 'userId', describe: describeDevice, ...options }))

  app.get('/', async (c) => {
    const session = c.get('session')
    const counter = (await session.get('counter')) ?? 0
    const user = await session.get('userId')
    return c.html(
      page(html`
        <p>Store: <code>${storeName}</code></p>
        <p>${user ? html`Signed in as <strong>${user}</strong>.` : 'Not signed in.'}</p>
        <p>Counter: <strong id="counter">${counter}</strong></p>
        <form method="post" action="/increment"><button>+1</button></form>
        ${user ? html`<form method="post" action="/logout"><button>Log out (purge)</button></form>` : signInForm()}
      `),
    )
  })

  app.post('/increment', async (c) => {
    const session = c.get('session')
    await session.updateOr('counter', 1, (n) => n + 1)
    return c.redirect('/', 303)
  })

  app.post('/login', async (c) => {
    const user = (await formField(c, 'user'))?.trim().slice(0, 40) || 'guest'
    const session = c.get('session')
    session.insert('userId', user)
    // A new id on every privilege change: an id seen before login is worthless after it.
    session.renew()
    return c.redirect('/', 303)
  })

  app.post('/logout', (c) => {
    c.get('session').purge()
    return c.redirect('/', 303)
  })

  app.route('/devices', deviceRoutes(storeName, deviceCapabilities(options.store)))

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
