import type { Context } from 'hono'
import { html } from 'hono/html'
import type { DemoEnv } from './data.js'
import type { Markup } from './layout.js'

/** What the panel needs to know of the app: the store's name and the idle lifetime the options give. */
export interface PanelFacts {
  storeName: string
  /** The session's idle lifetime, in milliseconds. */
  idleMs: number
  /** Whether every request moves the idle expiry (`extendOn: 'every-request'`), not only writes. */
  everyRequest: boolean
  /** The cookie's name, to tell "no cookie" from "a cookie that opened nothing". */
  cookieName: string
}

const utc = (ms: number): string => new Date(ms).toISOString().slice(0, 19).replace('T', ' ') + ' UTC'
const time = (ms: number): Markup => html`<time datetime="${new Date(ms).toISOString()}">${utc(ms)}</time>`

function duration(ms: number): string {
  const minutes = Math.round(ms / 60_000)
  if (minutes < 120) return `${minutes} min`
  const hours = Math.round(minutes / 60)
  return hours < 48 ? `${hours} h` : `${Math.round(hours / 24)} days`
}

/** Whether the request carried a cookie of our name (its value is never shown). */
function cookieCameIn(c: Context<DemoEnv>, name: string): boolean {
  const header = c.req.header('cookie') ?? ''
  return header.split(';').some((pair) => pair.trim().startsWith(`${name}=`))
}

/**
 * The panel on every page: this request's session as the server saw it. Its status (the
 * `Session`'s own), whether a cookie came in and opened a session, when that session was created,
 * when it ends if idle and at the latest, which store keeps it and the id of the key that opened its
 * cookie (`session.origin()`: read from the manager, not guessed).
 */
export async function sessionPanel(c: Context<DemoEnv>, facts: PanelFacts): Promise<Markup> {
  const session = c.get('session')
  const origin = await session.origin()
  const now = Date.now()
  const rows: [string, string, Markup | string][] = [['panel-store', 'Store', html`<code>${facts.storeName}</code>`]]
  if (origin === null) {
    rows.unshift([
      'panel-cookie',
      'Cookie',
      cookieCameIn(c, facts.cookieName)
        ? 'one came in, but it opened no live session (ended, expired or not ours): a new one starts at the first write'
        : 'none yet: a session starts at the first write (add to the cart, or sign in)',
    ])
  } else {
    const idleEnd = origin.absoluteExpiresAt === null ? now + facts.idleMs : Math.min(now + facts.idleMs, origin.absoluteExpiresAt)
    rows.unshift(
      ['panel-cookie', 'Cookie', 'opened a live session'],
      ['panel-created', 'Created', time(origin.createdAt)],
      [
        'panel-idle',
        'Idle expiry',
        facts.everyRequest
          ? html`${time(idleEnd)} <small>(${duration(facts.idleMs)} after this request: every request moves it)</small>`
          : html`${duration(facts.idleMs)} after the last write`,
      ],
      [
        'panel-absolute',
        'Absolute expiry',
        origin.absoluteExpiresAt === null ? 'none' : html`${time(origin.absoluteExpiresAt)} <small>(however active: a login keeps it)</small>`,
      ],
      [
        'panel-key',
        'Key id',
        origin.keyId === null
          ? 'none: a cookie format that names no key (actix-session)'
          : html`<code>${origin.keyId}</code> <small>${origin.staleKey ? '(an older key: this response re-seals the cookie under the newest)' : '(the newest key)'}</small>`,
      ],
    )
  }
  rows.unshift(['panel-status', 'Status', html`<code>${session.status}</code>`])
  return html`<aside class="panel" aria-labelledby="panel-heading">
    <h2 id="panel-heading">This request's session</h2>
    <dl>${rows.map(([id, label, value]) => html`<dt>${label}</dt><dd id="${id}">${value}</dd>`)}</dl>
  </aside>`
}
