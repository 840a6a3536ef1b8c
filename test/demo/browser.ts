// What the demo's browser tests share: the demo served in-process on a loopback port, restartable
// on that port, and a page in a browser context of its own. The browser itself, headless Chromium
// (Debian's `chromium`, driven by playwright-core from test/browser's package), and when the tests
// skip without it, are test/browser/kit.ts's.
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { demoApp } from '../../demo/app.js'
import { openDemoStore, type DemoStore } from '../../demo/store.js'
import type { Browser, Page } from '../browser/kit.js'

/** A new browser context (its own cookie jar) and a page in it, failing fast on what never shows. */
export async function openPage(browser: Browser, userAgent?: string): Promise<Page> {
  const context = await browser.newContext(userAgent === undefined ? {} : { userAgent })
  // Fail fast on a page that never shows what is awaited, well inside the test's own timeout.
  context.setDefaultTimeout(5000)
  return context.newPage()
}

/** The demo served in-process, as `npm start` serves it. */
export interface ServedDemo {
  readonly base: string
  /** Stops the server and closes the store, then opens the store and serves a new app on the same port: a restart. */
  restart(): Promise<void>
  stop(): Promise<void>
}

/** Serves the demo on `store` (a SESSION_STORE setting) with `key`, on a free loopback port. */
export async function serveDemo(store: string, key: string): Promise<ServedDemo> {
  let opened: DemoStore
  let server: ReturnType<typeof serve>
  const listen = async (port: number): Promise<number> => {
    opened = await openDemoStore(store)
    const app = demoApp({ store: opened.store, keys: [key] }, opened.name)
    return new Promise<number>((listening) => {
      server = serve({ fetch: app.fetch, port, hostname: '127.0.0.1' }, (info: AddressInfo) => listening(info.port))
    })
  }
  const stop = async (): Promise<void> => {
    const closing = new Promise<void>((closed) => server.close(() => closed()))
    // The browser keeps connections alive; a restart must not wait for it to let go.
    if ('closeAllConnections' in server) server.closeAllConnections()
    await closing
    await opened.close()
  }
  const port = await listen(0)
  return {
    base: `http://127.0.0.1:${port}`,
    async restart() {
      await stop()
      await listen(port)
    },
    stop,
  }
}
