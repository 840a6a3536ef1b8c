import { Hono, type Context } from 'hono'
import { html, raw } from 'hono/html'
import { sessions } from '../src/adapters/hono/index.js'
import type { SessionOptions } from '../src/core/options.js'
import { cartRoutes, cartView, catalogue } from './cart.js'
import type { DemoData, DemoEnv, DemoFlash } from './data.js'
import { describeDevice, deviceCapabilities, deviceRoutes } from './devices.js'
import { formField } from './form.js'
import { page, SECURITY_HEADERS, signInForm, STYLESHEET, type Markup } from './layout.js'
import { sessionPanel, type PanelFacts } from './panel.js'
import { sameOriginPosts } from './same-origin.js'

/**
 * The demo's session settings, under whatever the caller passes: a browser-session cookie whose
 * record lives two idle hours, moved forward by every request (so the panel can say exactly when it
 * ends), and at most twelve hours whatever the activity.
 */
export const DEMO_SESSION_DEFAULTS = {
  lifecycle: { type: 'browser', stateTtl: 2 * 3600, extendOn: 'every-request' },
  absoluteTimeout: 12 * 3600,
} as const satisfies Partial<SessionOptions<DemoData>>

/** The idle lifetime and extension rule the options give, as the panel reports them. */
function panelFacts(options: SessionOptions<DemoData>, storeName: string): PanelFacts {
  const lifecycle = options.lifecycle ?? { type: 'browser' }
  const seconds = (lifecycle.type === 'persistent' ? lifecycle.ttl : lifecycle.stateTtl) ?? 86_400
  return { storeName, idleMs: seconds * 1000, everyRequest: lifecycle.extendOn === 'every-request', cookieName: options.cookie?.name ?? 'id' }
}

/**
 * The demo app: a small shop whose cart lives in the session (and survives a restart on SQLite),
 * sign in (which renews the session id) and out (which purges it), "Your devices" (the user's
 * sessions, each one or all the others signed out), a page of the session's data, and on every page
 * a panel with this request's session: status, expiry, store and key id. Sessions are filed by user
 * under `userId`, with the user agent. Used by `npm start` and by the demo's tests.
 */
export function demoApp(options: SessionOptions<DemoData>, storeName: string): Hono<DemoEnv> {
  const settings: SessionOptions<DemoData> = { ...DEMO_SESSION_DEFAULTS, userKey: 'userId', describe: describeDevice, ...options }
  const facts = panelFacts(settings, storeName)
  const frame = async (c: Context<DemoEnv>, body: Markup): Promise<Markup> => page(body, await sessionPanel(c, facts))

  const app = new Hono<DemoEnv>()
  app.use(async (c, next) => {
    await next()
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.header(name, value)
  })
  app.get('/style.css', (c) => c.body(STYLESHEET, 200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'max-age=300' }))
  app.use(sameOriginPosts())
  app.use(sessions<DemoData, DemoFlash>(settings))

  app.get('/', async (c) => {
    const session = c.get('session')
    const user = await session.get('userId')
    // A flash is read once: a reload of this page no longer shows it.
    const notice = await session.takeFlash('notice')
    const flash = notice === undefined ? '' : html`<p class="notice" id="notice" role="status">${notice}</p>`
    const account = user
      ? html`<section><p id="greeting">Signed in as <strong>${user}</strong>.</p><form method="post" action="/logout"><button>Log out (purge)</button></form></section>`
      : html`<section><p id="greeting">Not signed in.</p>${signInForm()}</section>`
    return c.html(await frame(c, html`${flash}${account}${catalogue()}${cartView(await session.get('cart'))}`))
  })

  app.route('/cart', cartRoutes())

  app.post('/login', async (c) => {
    const user = (await formField(c, 'user'))?.trim().slice(0, 40) || 'guest'
    const session = c.get('session')
    session.insert('userId', user)
    session.flash('notice', `Welcome, ${user}.`)
    // A new id on every privilege change: an id seen before login is worthless after it. The cart goes along.
    session.renew()
    return c.redirect('/', 303)
  })

  app.post('/logout', (c) => {
    c.get('session').purge()
    return c.redirect('/', 303)
  })

  app.route('/devices', deviceRoutes(storeName, deviceCapabilities(settings.store), frame))

  app.get('/status', async (c) => {
    const entries = await c.get('session').entries()
    return c.html(
      await frame(
        c,
        html`<section>
          <h2>Session data</h2>
          <p>What the store holds for this session (every key and value), as this request read it:</p>
          <pre id="entries">${raw(JSON.stringify(entries, null, 2).replace(/&/g, '&amp;').replace(/</g, '&lt;'))}</pre>
        </section>`,
      ),
    )
  })

  app.get('/status.json', async (c) => {
    const session = c.get('session')
    return c.json({ status: session.status, entries: await session.entries() })
  })

  return app
}
