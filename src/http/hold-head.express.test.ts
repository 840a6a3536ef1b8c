import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { ServerResponse, type RequestListener } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import express from 'express'
import type { Express } from 'express'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { holdWithSlowCommit, listen } from '../../test/support/node-http-harness.js'
import type { Loopback, Timeline } from '../../test/support/node-http-harness.js'

// The `express4` alias has no type declarations of its own; its surface here is Express 5's.
const express4 = ((await import('express4' as string)) as { default: typeof express }).default

const DELAY_MS = 100
let dir: string
let file: string
const fileBody = 'line of a file that is long enough to matter\n'.repeat(5000)

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hold-head-'))
  file = join(dir, 'page.txt')
  await writeFile(file, fileBody)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe.each([
  ['Express 5', express],
  ['Express 4', express4],
])('holdResponseHead under %s', (_name, createApp) => {
  let server: Loopback | undefined
  let timeline: Timeline = {}

  afterEach(async () => {
    await server?.close()
    server = undefined
    timeline = {}
  })

  async function serve(route: (app: Express) => void): Promise<Loopback> {
    const app = createApp()
    app.use((_req, res, next) => {
      timeline = holdWithSlowCommit(res, { delayMs: DELAY_MS, cookie: 'id=express' })
      next()
    })
    route(app)
    server = await listen(app as unknown as RequestListener)
    return server
  }

  function expectHeldUntilCommitted(response: Response): void {
    expect(response.headers.getSetCookie()).toEqual(['id=express'])
    expect(timeline.commitDoneAt).toBeDefined()
    expect(timeline.headLeftAt).toBeGreaterThanOrEqual(timeline.commitDoneAt!)
    expect(timeline.commitDoneAt! - timeline.commitStartedAt!).toBeGreaterThanOrEqual(DELAY_MS - 5)
  }

  it('holds res.redirect until the commit resolved', async () => {
    const { url } = await serve((app) => app.get('/login', (_req, res) => res.redirect('/home')))
    const response = await fetch(`${url}/login`, { redirect: 'manual' })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/home')
    expectHeldUntilCommitted(response)
  })

  it('holds res.json until the commit resolved', async () => {
    const { url } = await serve((app) => app.get('/', (_req, res) => res.json({ ok: true, n: 1 })))
    const response = await fetch(url)
    expect(await response.json()).toEqual({ ok: true, n: 1 })
    expectHeldUntilCommitted(response)
  })

  it('holds res.send until the commit resolved', async () => {
    const { url } = await serve((app) => app.get('/', (_req, res) => res.status(201).send('<p>made</p>')))
    const response = await fetch(url)
    expect(response.status).toBe(201)
    expect(response.headers.get('content-type')).toMatch(/^text\/html/)
    expect(await response.text()).toBe('<p>made</p>')
    expectHeldUntilCommitted(response)
  })

  it('holds res.sendFile until the commit resolved and sends the whole file', async () => {
    const { url } = await serve((app) => app.get('/', (_req, res) => res.sendFile(file)))
    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe(fileBody)
    expectHeldUntilCommitted(response)
  })

  it('holds res.end() with no body until the commit resolved', async () => {
    const { url } = await serve((app) => app.get('/', (_req, res) => res.end()))
    const response = await fetch(url)
    expect(response.status).toBe(200)
    expect(response.headers.get('content-length')).toBe('0')
    expect(await response.text()).toBe('')
    expectHeldUntilCommitted(response)
  })

  it('holds flushHeaders() called first until the commit resolved', async () => {
    const { url } = await serve((app) =>
      app.get('/', (_req, res) => {
        res.flushHeaders()
        res.write('a,')
        res.end('b')
      }),
    )
    const response = await fetch(url)
    expect(await response.text()).toBe('a,b')
    expectHeldUntilCommitted(response)
  })

  it('holds a reply whose write and end a middleware mounted before had wrapped (as compression does)', async () => {
    const calls: string[] = []
    const app = createApp()
    app.use((_req, res, next) => {
      for (const name of ['write', 'end'] as const) {
        const inner = res[name] as (...args: unknown[]) => unknown
        ;(res as unknown as Record<string, unknown>)[name] = function (this: unknown, ...args: unknown[]) {
          calls.push(name)
          return inner.apply(this, args)
        }
      }
      next()
    })
    app.use((_req, res, next) => {
      timeline = holdWithSlowCommit(res, { delayMs: DELAY_MS, cookie: 'id=express' })
      next()
    })
    app.get('/', (_req, res) => res.send('wrapped'))
    server = await listen(app as unknown as RequestListener)
    const response = await fetch(server.url)
    expect(await response.text()).toBe('wrapped')
    expectHeldUntilCommitted(response)
    expect(calls).toEqual(['end'])
  })

  it("leaves the app's response prototype and Node's as they were", async () => {
    const app = createApp()
    const before = Object.getOwnPropertyNames(app.response)
    const nodeEnd = ServerResponse.prototype.end
    app.use((_req, res, next) => {
      timeline = holdWithSlowCommit(res, { delayMs: 10, cookie: 'id=express' })
      next()
    })
    app.get('/', (_req, res) => res.send('ok'))
    server = await listen(app as unknown as RequestListener)
    expect((await fetch(server.url)).headers.getSetCookie()).toEqual(['id=express'])
    expect(Object.getOwnPropertyNames(app.response)).toEqual(before)
    expect(ServerResponse.prototype.end).toBe(nodeEnd)
  })

  it('holds chunks written before end until the commit resolved', async () => {
    const { url } = await serve((app) =>
      app.get('/', (_req, res) => {
        res.type('text/plain')
        res.write('one,')
        res.write(Buffer.from('two,'))
        res.end('three')
      }),
    )
    const response = await fetch(url)
    expect(response.headers.get('transfer-encoding')).toBe('chunked')
    expect(await response.text()).toBe('one,two,three')
    expectHeldUntilCommitted(response)
  })
})
