import { Hono, type Context } from 'hono'
import { html } from 'hono/html'
import type { UserSession } from '../src/core/session.js'
import type { DemoEnv } from './data.js'
import type { SessionStore } from '../src/core/store.js'
import { formField } from './form.js'
import { page, signInForm, type Markup } from './layout.js'

/** The longest user agent kept (and the longest handle accepted): enough to recognise a device, small in any store or cookie. */
const MAX_AGENT = 200
const MAX_HANDLE = 200

/**
 * What the demo records about a client when a session is filed under its user: the user agent,
 * cut short. It is whatever the client sent (attacker-controlled), so every page escapes it.
 */
export function describeDevice(request: Request | undefined): Record<string, string> {
  return { userAgent: (request?.headers.get('user-agent') ?? '').slice(0, MAX_AGENT) }
}

/** What the store lets the devices page do: list (server stores) and sign the others out (those, or a cookie store with revocations). */
export interface DeviceCapabilities {
  list: boolean
  revokeOthers: boolean
}

/** The capabilities `store` offers, read from the optional methods of the store contract. */
export function deviceCapabilities(store: SessionStore): DeviceCapabilities {
  return { list: typeof store.listByUser === 'function', revokeOthers: typeof store.revokeByUser === 'function' }
}

function utc(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC'
}

function ago(ms: number, now: number): string {
  const minutes = Math.floor(Math.max(0, now - ms) / 60_000)
  if (minutes < 1) return 'just now'
  if (minutes < 60) return `${minutes} min ago`
  const hours = Math.floor(minutes / 60)
  return hours < 48 ? `${hours} h ago` : `${Math.floor(hours / 24)} days ago`
}

const when = (ms: number, now: number): Markup => html`<time datetime="${new Date(ms).toISOString()}" title="${utc(ms)}">${ago(ms, now)}</time>`

function row(device: UserSession, now: number): Markup {
  const action = device.current
    ? html`<form method="post" action="/logout"><button>Log out</button></form>`
    : html`<form method="post" action="/devices/sign-out">
        <input type="hidden" name="handle" value="${device.handle}" /><button>Sign out</button>
      </form>`
  return html`<tr class="device${device.current ? ' current' : ''}">
    <td class="agent">${device.userAgent || 'unknown device'}${device.current ? html`<span class="badge">This device</span>` : ''}</td>
    <td>${when(device.createdAt, now)}</td>
    <td>${when(device.lastSeenAt, now)}</td>
    <td>${action}</td>
  </tr>`
}

const signOutOthersForm = (): Markup => html`<form method="post" action="/devices/sign-out-others"><button>Sign out everywhere else</button></form>`

/** The message a redirect asked for, from a fixed list: nothing from the query string is rendered as is. */
function notice(query: (name: string) => string | undefined): Markup | '' {
  switch (query('notice')) {
    case 'signed-out':
      return html`<p class="notice">Signed out that session.</p>`
    case 'not-found':
      return html`<p class="notice">That session had already ended.</p>`
    case 'signed-out-others': {
      const count = query('count')
      if (count === undefined || !/^\d{1,9}$/.test(count)) return html`<p class="notice">Signed out your other sessions.</p>`
      return html`<p class="notice">Signed out ${Number(count)} other session${count === '1' ? '' : 's'}.</p>`
    }
    default:
      return ''
  }
}

const refused = (message: string): Markup => html`<section><p class="error">${message}</p><p><a href="/devices">Back to your devices</a></p></section>`

/** Makes a whole page of a body: the app's layout and its session panel. */
export type Frame = (c: Context<DemoEnv>, body: Markup) => Promise<Markup>

/**
 * "Your devices": `GET /devices` lists the signed-in user's sessions (user agent, created, last
 * seen, this one marked), `POST /devices/sign-out` ends one by the handle the list gave, and
 * `POST /devices/sign-out-others` ends every other one. Mount it under `/devices`, after the
 * sessions middleware (with `userKey: 'userId'`) and the same-origin check.
 */
export function deviceRoutes(storeName: string, can: DeviceCapabilities, frame: Frame = async (_c, body) => page(body)): Hono<DemoEnv> {
  const routes = new Hono<DemoEnv>()

  routes.get('/', async (c) => {
    const session = c.get('session')
    const user = await session.get('userId')
    if (user === undefined) return c.html(await frame(c, html`<section><h2>Your devices</h2><p>Not signed in.</p>${signInForm()}</section>`))
    const heading = html`<h2>Your devices</h2>
      <p>Signed in as <strong>${user}</strong>.</p>
      ${notice((name) => c.req.query(name))}`
    if (!can.list) {
      return c.html(
        await frame(
          c,
          html`<section>${heading}
            <p class="error">The <code>${storeName}</code> store cannot list a user's sessions${can.revokeOthers ? '' : ', nor sign them out'}:
            run the demo on a store that can (<code>SESSION_STORE=memory npm start</code>) to see your devices here.</p>
            ${can.revokeOthers ? signOutOthersForm() : ''}</section>`,
        ),
      )
    }
    const devices = await session.listUserSessions()
    const now = Date.now()
    return c.html(
      await frame(
        c,
        html`<section>${heading}
          <table>
            <thead><tr><th>Device</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead>
            <tbody>${devices.map((device) => row(device, now))}</tbody>
          </table>
          ${devices.some((device) => !device.current) && can.revokeOthers ? signOutOthersForm() : ''}</section>`,
      ),
    )
  })

  routes.post('/sign-out', async (c) => {
    if (!can.list) return c.html(await frame(c, refused(`The ${storeName} store cannot sign out one session by itself.`)), 400)
    const handle = await formField(c, 'handle')
    if (handle === undefined || handle === '' || handle.length > MAX_HANDLE) {
      return c.html(await frame(c, refused('That form named no session to sign out.')), 400)
    }
    const ended = await c.get('session').revokeUserSession(handle)
    return c.redirect(`/devices?notice=${ended ? 'signed-out' : 'not-found'}`, 303)
  })

  routes.post('/sign-out-others', async (c) => {
    if (!can.revokeOthers) return c.html(await frame(c, refused(`The ${storeName} store cannot sign sessions out.`)), 400)
    const count = await c.get('session').revokeOtherUserSessions()
    // The cookie store's revocation mark cannot count what it ended: then no number is shown.
    return c.redirect(`/devices?notice=signed-out-others${count === null ? '' : `&count=${count}`}`, 303)
  })

  return routes
}
