// "Your devices" in a real browser: headless Chromium (Debian's `chromium`, driven by
// playwright-core), two browser contexts signed in as the same user. What one context signs out
// must really be logged out in the other, with the cookies and redirects a browser handles.
// Without /usr/bin/chromium or playwright-core's package (`npm --prefix test/browser ci`) the tests
// are skipped loudly, except under CI=true, where they fail (.ci/run installs both).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateKey } from '../../src/crypto/keys.js'
import { findBrowser, launchChromium, type Browser, type Page } from '../browser/kit.js'
import { openPage, serveDemo, type ServedDemo } from './browser.js'

// The store the demo runs on here: SQLite, as `npm start` does (in memory, so each run starts empty).
const STORE = 'sqlite::memory:'

// Both contexts run the same Chromium; only the user agent each sends tells them apart. B's is
// hostile on purpose: the page must show it as text.
const AGENT_A = 'Device A (cloakroom browser test)'
const AGENT_B = 'Device B <script>window.pwned = 1</script><b>bold</b> & "quoted"'

describe.skipIf(!findBrowser("the demo's devices page in Chromium"))(`the demo's devices page in headless Chromium, two contexts (${STORE} store)`, () => {
  let browser: Browser | undefined
  let demo: ServedDemo | undefined
  let base = ''

  beforeAll(async () => {
    demo = await serveDemo(STORE, generateKey())
    base = demo.base
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await demo?.stop()
  })

  const open = (userAgent: string): Promise<Page> => openPage(browser!, userAgent)

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
})
