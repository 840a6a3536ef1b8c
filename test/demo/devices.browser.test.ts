// "Your devices" in a real browser: headless Chromium (Debian's `chromium`, driven by
// playwright-core), two browser contexts signed in as the same user. What one context signs out
// must really be logged out in the other, with the cookies and redirects a browser handles.
// Without /usr/bin/chromium the tests are skipped loudly, except under CI=true, where they fail
// (.ci/run installs the browser when it is missing).
import { existsSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { demoApp } from '../../demo/app.js'
import { openDemoStore, type DemoStore } from '../../demo/store.js'
import { generateKey } from '../../src/crypto/keys.js'

const CHROMIUM = '/usr/bin/chromium'
const CI = process.env.CI === 'true'
const available = existsSync(CHROMIUM)
// The store the demo runs on here: SQLite, as `npm start` does (in memory, so each run starts empty).
const STORE = 'sqlite::memory:'

// Both contexts run the same Chromium; only the user agent each sends tells them apart. B's is
// hostile on purpose: the page must show it as text.
const AGENT_A = 'Device A (cloakroom browser test)'
const AGENT_B = 'Device B <script>window.pwned = 1</script><b>bold</b> & "quoted"'

if (!available && !CI) {
  console.warn(
    `\n!!!!!!!!\n!!! SKIPPING the demo's browser tests: ${CHROMIUM} is missing (install it: apt-get install -y chromium)\n!!!!!!!!\n`,
  )
}

describe.skipIf(!available && !CI)(`the demo's devices page in headless Chromium, two contexts (${STORE} store)`, () => {
  let browser: Browser | undefined
  let store: DemoStore | undefined
  let server: ReturnType<typeof serve> | undefined
  let base = ''

  beforeAll(async () => {
    if (!available) throw new Error(`${CHROMIUM} is missing; CI needs it (.ci/run installs it with apt-get install -y chromium)`)
    store = await openDemoStore(STORE)
    const app = demoApp({ store: store.store, keys: [generateKey()] }, store.name)
    const port = await new Promise<number>((listening) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => listening(info.port))
    })
    base = `http://127.0.0.1:${port}`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    })
  })

  afterAll(async () => {
    await browser?.close()
    if (server !== undefined) {
      const closing = new Promise<void>((closed) => server!.close(() => closed()))
      if ('closeAllConnections' in server) server.closeAllConnections()
      await closing
    }
    await store?.close()
  })

  async function open(userAgent: string): Promise<Page> {
    const context = await browser!.newContext({ userAgent })
    // Fail fast on a page that never shows what is awaited, well inside the test's own timeout.
    context.setDefaultTimeout(5000)
    return context.newPage()
  }

  /** Signs in through the form, then opens "Your devices" and checks it shows the user. */
  async function signIn(page: Page, user: string): Promise<void> {
    await page.goto(`${base}/devices`)
    await page.getByText('Not signed in.').waitFor()
    await page.getByLabel('user name').fill(user)
    await page.getByRole('button', { name: 'Log in (renew)' }).click()
    await page.getByText(`Signed in as ${user}.`).waitFor()
    await page.goto(`${base}/devices`)
    await page.getByText(`Signed in as ${user}.`).waitFor()
  }

  const agentOf = (page: Page, selector: string): Promise<string | null> =>
    page.locator(`${selector} td.agent`).evaluate((cell) => cell.firstChild?.textContent ?? null)

  it('A lists both sessions (itself marked, B by its user agent, shown as text), signs B out, and B is really logged out', async () => {
    const a = await open(AGENT_A)
    const b = await open(AGENT_B)
    await signIn(a, 'ferris')
    await signIn(b, 'ferris')

    await a.reload()
    expect(await a.locator('tr.device').count()).toBe(2)
    expect(await agentOf(a, 'tr.device.current')).toBe(AGENT_A)
    expect(await a.locator('tr.device.current .badge').textContent()).toBe('This device')
    // The hostile user agent arrives as the text it is: escaped, so no element and no script came of it.
    expect(await agentOf(a, 'tr.device:not(.current)')).toBe(AGENT_B)
    expect(await a.locator('td.agent b').count()).toBe(0)
    expect(await a.evaluate('window.pwned')).toBeUndefined()

    await a.locator('tr.device:not(.current)').getByRole('button', { name: 'Sign out' }).click()
    await a.getByText('Signed out that session.').waitFor()
    expect(await a.locator('tr.device').count()).toBe(1)
    expect(await agentOf(a, 'tr.device.current')).toBe(AGENT_A)

    await b.reload()
    await b.getByText('Not signed in.').waitFor()
    expect(await b.getByRole('button', { name: 'Log in (renew)' }).count()).toBe(1)
    expect(await b.locator('table').count()).toBe(0)

    await a.goto(`${base}/`)
    await a.getByText('Signed in as ferris.').waitFor()
  })

  it('"Sign out everywhere else" from B logs A out and keeps B', async () => {
    const a = await open(AGENT_A)
    const b = await open('Device B (cloakroom browser test)')
    await signIn(a, 'corro')
    await signIn(b, 'corro')
    await b.reload()
    await b.getByRole('button', { name: 'Sign out everywhere else' }).click()
    await b.getByText('Signed out 1 other session.').waitFor()
    await a.reload()
    await a.getByText('Not signed in.').waitFor()
    await b.goto(`${base}/`)
    await b.getByText('Signed in as corro.').waitFor()
  })

  it('the session cookie is HttpOnly: the browser holds it, and the page cannot read it', async () => {
    const page = await open(AGENT_A)
    await signIn(page, 'ferris')
    const cookie = (await page.context().cookies(base)).find((candidate) => candidate.name === 'id')
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: 'Lax' })
    expect(await page.evaluate('document.cookie')).not.toContain('id=')
  })
})
