// Headless Chromium for the browser tests (test/demo/*.browser.test.ts, and test/next's login
// through a server action): Debian's `chromium`, driven by playwright-core.
//
// playwright-core (about 14 MB) lives in a package of its own (package.json beside this file),
// installed by CI and by `npm --prefix test/browser ci`, not by the repository's `npm ci`: without
// Chromium the browser tests cannot run anyway, so a newcomer without it should not pay for its
// driver. playwright-core is loaded from that package at run time and typed here by the little the
// tests use, so that `npm run typecheck` does not need it installed.
//
// Without /usr/bin/chromium or without the package the browser tests are skipped loudly, except
// under CI=true, where they fail (.ci/run installs both when they are missing).
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import { needed } from '../support/needed.js'

const DIR = fileURLToPath(new URL('./', import.meta.url))

/** The browser the tests drive: Debian's `chromium`. */
export const CHROMIUM = '/usr/bin/chromium'

/** The command that installs playwright-core's package, for messages. */
export const INSTALL_BROWSER = 'npm --prefix test/browser ci'

/** What is missing for the browser tests, or `undefined` when Chromium and the package are both there. */
function browserMissing(): string | undefined {
  const missing: string[] = []
  if (!existsSync(CHROMIUM)) missing.push(`${CHROMIUM} is missing; \`apt-get install -y chromium\` installs it`)
  // npm writes its hidden lockfile last, once every package is in place.
  if (!existsSync(`${DIR}node_modules/.package-lock.json`)) {
    missing.push(`the browser tests' package (playwright-core; about 14 MB) is not installed; \`${INSTALL_BROWSER}\` installs it`)
  }
  return missing.length === 0 ? undefined : missing.join(', and ')
}

/**
 * Whether the browser tests can run (Chromium and playwright-core's package both there), for a test
 * file that needs them: `false` after a loud warning when not, and under `CI=true` an error
 * instead, so a CI run cannot pass by skipping.
 *
 * @example
 * ```ts
 * describe.skipIf(!findBrowser("the demo's showcase in Chromium"))('the demo in headless Chromium', () => { … })
 * ```
 */
export function findBrowser(what: string): boolean {
  return needed(what, browserMissing())
}

/** A cookie as the browser keeps it (playwright's `Cookie`). */
export interface Cookie {
  name: string
  value: string
  domain: string
  path: string
  /** Unix time in seconds; -1 for a session cookie. */
  expires: number
  httpOnly: boolean
  secure: boolean
  sameSite: 'Strict' | 'Lax' | 'None'
  partitionKey?: string
}

/**
 * The part of a DOM node that the tests read inside the page, in a function they pass to
 * `evaluate` (the repository's TypeScript has no DOM library). `cells` is a table row's.
 */
export interface PageNode {
  textContent: string | null
  firstChild: PageNode | null
  cells: ArrayLike<PageNode>
}

/** What `getByRole` matches besides the role. */
export interface RoleOptions {
  name?: string | RegExp
  exact?: boolean
}

/** The part of playwright's `Locator` that the tests use. */
export interface Locator {
  click(): Promise<void>
  fill(value: string): Promise<void>
  waitFor(options?: { state?: 'attached' | 'detached' | 'visible' | 'hidden' }): Promise<void>
  count(): Promise<number>
  textContent(): Promise<string | null>
  getAttribute(name: string): Promise<string | null>
  filter(options: { hasText?: string | RegExp }): Locator
  getByRole(role: string, options?: RoleOptions): Locator
  /** Runs `fn` in the page on the one element matched (it is serialized: it sees nothing of the test's scope). */
  evaluate<R>(fn: (node: PageNode) => R): Promise<R>
  /** Runs `fn` in the page on every element matched. */
  evaluateAll<R>(fn: (nodes: PageNode[]) => R): Promise<R>
}

/** The part of playwright's `Page` that the tests use. */
export interface Page {
  goto(url: string): Promise<unknown>
  reload(): Promise<unknown>
  url(): string
  context(): BrowserContext
  locator(selector: string): Locator
  getByText(text: string | RegExp): Locator
  getByLabel(text: string | RegExp): Locator
  getByRole(role: string, options?: RoleOptions): Locator
  /** Evaluates a JavaScript expression in the page. */
  evaluate(expression: string): Promise<unknown>
}

/** The part of playwright's `BrowserContext` (a cookie jar of its own, and its pages) that the tests use. */
export interface BrowserContext {
  newPage(): Promise<Page>
  setDefaultTimeout(timeout: number): void
  cookies(urls?: string | readonly string[]): Promise<Cookie[]>
  addCookies(cookies: readonly Cookie[]): Promise<void>
  close(): Promise<void>
}

/** The part of playwright's `Browser` that the tests use. */
export interface Browser {
  newContext(options?: { userAgent?: string }): Promise<BrowserContext>
  close(): Promise<void>
}

/** The part of playwright-core that the tests use. */
interface PlaywrightCore {
  chromium: { launch(options: { executablePath: string; args: string[] }): Promise<Browser> }
}

let playwright: PlaywrightCore | undefined

/** Loads playwright-core from this folder's package (once); throws with the install command when it is missing. */
function loadPlaywright(): PlaywrightCore {
  if (playwright !== undefined) return playwright
  try {
    playwright = createRequire(`${DIR}package.json`)('playwright-core') as PlaywrightCore
  } catch (error) {
    throw new Error(`the browser tests' package (playwright-core) is not installed (${INSTALL_BROWSER})`, { cause: error })
  }
  return playwright
}

/**
 * Headless Chromium ({@link CHROMIUM}), driven by playwright-core. Needs both ({@link findBrowser});
 * throws, saying how to install what is missing, when either is not there.
 *
 * @example
 * ```ts
 * const browser = await launchChromium()
 * const page = await (await browser.newContext()).newPage()
 * ```
 */
export function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing (\`apt-get install -y chromium\` installs it; .ci/run does when it is missing)`)
  return loadPlaywright().chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
}
