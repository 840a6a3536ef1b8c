// The demo as a user meets it, in headless Chromium (Debian's `chromium`, driven by playwright-core),
// on an SQLite file as `npm start` runs it: the cookie as the browser stored it, the id changing at
// login, the cart surviving a server restart, a logout ending the session in a second tab, and the
// session panel telling the truth about all of it. Assertions are on the page and on the browser's
// cookie jar; no screenshots. Skipped loudly without /usr/bin/chromium or playwright-core's package
// (`npm --prefix test/browser ci`), except under CI=true, where they fail.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DEMO_SESSION_DEFAULTS } from '../../demo/app.js'
import { generateKey } from '../../src/crypto/keys.js'
import { findBrowser, launchChromium, type Browser, type Cookie, type Page } from '../browser/kit.js'
import { openPage, serveDemo, type ServedDemo } from './browser.js'

describe.skipIf(!findBrowser("the demo's showcase in Chromium"))("the demo in headless Chromium (SQLite file)", () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloakroom-showcase-'))
  let browser: Browser | undefined
  let demo: ServedDemo | undefined
  let base = ''

  beforeAll(async () => {
    demo = await serveDemo(`sqlite:${join(dir, 'sessions.db')}`, generateKey())
    base = demo.base
    browser = await launchChromium()
  })

  afterAll(async () => {
    await browser?.close()
    await demo?.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  /** The session cookie as the browser keeps it. */
  async function sessionCookie(page: Page): Promise<Cookie | undefined> {
    return (await page.context().cookies(base)).find((cookie) => cookie.name === 'id')
  }

  const text = async (page: Page, selector: string): Promise<string> => (await page.locator(selector).textContent())?.trim() ?? ''
  const datetime = async (page: Page, id: string): Promise<number> => Date.parse((await page.locator(`#${id} time`).getAttribute('datetime')) ?? '')
  /** What the cart shows: quantity by item name. */
  const cart = async (page: Page): Promise<Record<string, number>> =>
    Object.fromEntries(
      await page.locator('#cart tbody tr').evaluateAll((rows) => rows.map((row) => [row.cells[0]!.textContent!.trim(), Number(row.cells[1]!.textContent)])),
    )

  async function add(page: Page, item: string): Promise<void> {
    const before = (await cart(page))[item] ?? 0
    await page.getByRole('button', { name: `Add ${item}` }).click()
    await page.locator(`#cart tbody tr:has-text("${item}") .qty`).filter({ hasText: String(before + 1) }).waitFor()
  }

  async function signIn(page: Page, user: string): Promise<void> {
    await page.getByLabel('user name').fill(user)
    await page.getByRole('button', { name: 'Log in (renew)' }).click()
    await page.getByText(`Signed in as ${user}.`).waitFor()
  }

  it('keeps the cookie HttpOnly, Secure, SameSite=Lax and host-only, out of document.cookie, and changes its id at login', async () => {
    const page = await openPage(browser!)
    await page.goto(base)
    await page.getByText('Not signed in.').waitFor()
    expect(await sessionCookie(page)).toBeUndefined()
    expect(await text(page, '#panel-cookie')).toMatch(/^none yet/)

    await add(page, 'Wool scarf')
    // The notice the add left (a flash message) is shown once: a reload no longer shows it.
    expect(await text(page, '#notice')).toBe('Added Wool scarf to the cart.')
    await page.reload()
    await page.getByText('Not signed in.').waitFor()
    expect(await page.locator('#notice').count()).toBe(0)
    const anonymous = (await sessionCookie(page))!
    expect(anonymous).toMatchObject({ domain: '127.0.0.1', path: '/', httpOnly: true, secure: true, sameSite: 'Lax', expires: -1 })
    // The page can read cookies, just not this one.
    await page.evaluate("document.cookie = 'theme=dark'")
    expect(await page.evaluate('document.cookie')).toBe('theme=dark')

    // The panel names the key the cookie carries, and the session's life from its creation.
    expect(await text(page, '#panel-key code')).toBe(anonymous.value.split('.')[1])
    expect(await text(page, '#panel-cookie')).toBe('opened a live session')
    const created = await datetime(page, 'panel-created')
    expect((await datetime(page, 'panel-absolute')) - created).toBe(DEMO_SESSION_DEFAULTS.absoluteTimeout * 1000)
    expect(await datetime(page, 'panel-idle')).toBeGreaterThan(Date.now() + DEMO_SESSION_DEFAULTS.lifecycle.stateTtl * 1000 - 60_000)

    await signIn(page, 'ferris')
    const signedIn = (await sessionCookie(page))!
    expect(signedIn.value).not.toBe(anonymous.value)
    expect(signedIn).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax' })
    // A login moves the session to a new id and keeps the rest: the cart, and the creation time the absolute timeout counts from.
    expect(await cart(page)).toEqual({ 'Wool scarf': 1 })
    expect(await datetime(page, 'panel-created')).toBe(created)

    // The id from before the login opens nothing any more.
    const replay = await openPage(browser!)
    await replay.context().addCookies([anonymous])
    await replay.goto(base)
    await replay.getByText('Not signed in.').waitFor()
    expect(await replay.locator('#cart-empty').count()).toBe(1)
    expect(await text(replay, '#panel-cookie')).toMatch(/^one came in, but it opened no live session/)
  })

  it('keeps the cart through a server restart (the same SQLite file and key)', async () => {
    const page = await openPage(browser!)
    await page.goto(base)
    await add(page, 'Umbrella')
    await add(page, 'Umbrella')
    await add(page, 'Cedar hanger')
    const keyId = await text(page, '#panel-key code')

    await demo!.restart()

    await page.reload()
    expect(await cart(page)).toEqual({ Umbrella: 2, 'Cedar hanger': 1 })
    expect(await text(page, '#cart-total')).toBe('€54.00')
    expect(await text(page, '#panel-key code')).toBe(keyId)
    await page.getByRole('button', { name: 'Remove Umbrella' }).click()
    await page.locator('#cart tbody tr:has-text("Umbrella")').waitFor({ state: 'detached' })
    expect(await cart(page)).toEqual({ 'Cedar hanger': 1 })
  })

  it('logging out in one tab ends the session in the other, and on the server (a copied cookie opens nothing)', async () => {
    const first = await openPage(browser!)
    await first.goto(base)
    await signIn(first, 'corro')
    await add(first, 'Cedar hanger')
    const second = await first.context().newPage()
    await second.goto(base)
    await second.getByText('Signed in as corro.').waitFor()
    expect(await cart(second)).toEqual({ 'Cedar hanger': 1 })
    const copy = (await sessionCookie(first))!

    await first.getByRole('button', { name: 'Log out (purge)' }).click()
    await first.getByText('Not signed in.').waitFor()
    expect(await sessionCookie(first)).toBeUndefined()

    await second.reload()
    await second.getByText('Not signed in.').waitFor()
    expect(await second.locator('#cart-empty').count()).toBe(1)

    // Not only the cookie is gone: the session itself ended, so a copy of the cookie is worthless.
    const elsewhere = await openPage(browser!)
    await elsewhere.context().addCookies([copy])
    await elsewhere.goto(base)
    await elsewhere.getByText('Not signed in.').waitFor()
    expect(await text(elsewhere, '#panel-cookie')).toMatch(/^one came in, but it opened no live session/)
  })
})
