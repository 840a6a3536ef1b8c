import { createHook } from 'node:async_hooks'
import { createHash } from 'node:crypto'
import { OutgoingMessage, ServerResponse, request as httpRequest } from 'node:http'
import type { IncomingMessage } from 'node:http'
import { performance } from 'node:perf_hooks'
import { Readable } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { holdResponseHead } from './hold-head.js'
import { holdWithSlowCommit, listen, rawExchange, sleep } from '../../test/support/node-http-harness.js'
import type { Loopback, Timeline } from '../../test/support/node-http-harness.js'

let server: Loopback | undefined
const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason)
}

beforeEach(() => {
  unhandled.length = 0
  process.on('unhandledRejection', onUnhandled)
})

afterEach(async () => {
  process.off('unhandledRejection', onUnhandled)
  await server?.close()
  server = undefined
})

const RAW_GET = 'GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'

/** A handler that uses every way of sending a head, for byte-for-byte comparisons. */
function busyHandler(_req: IncomingMessage, res: ServerResponse): void {
  res.sendDate = false
  res.setHeader('x-early', '1')
  res.writeHead(201, 'Made', { 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] })
  res.write('first,')
  res.write(Buffer.from('second,'))
  res.end('last')
}

/** One 4 MiB source made of 64 KiB chunks, counting what has been pulled from it. */
function countingSource(total: number, chunk = 64 * 1024): Readable & { pulled: number } {
  let produced = 0
  const source = new Readable({
    highWaterMark: chunk,
    read() {
      if (produced >= total) {
        this.push(null)
        return
      }
      const size = Math.min(chunk, total - produced)
      const piece = Buffer.alloc(size, produced / chunk)
      produced += size
      source.pulled = produced
      this.push(piece)
    },
  }) as Readable & { pulled: number }
  source.pulled = 0
  return source
}

function expectedDigest(total: number, chunk = 64 * 1024): string {
  const hash = createHash('sha256')
  for (let at = 0; at < total; at += chunk) hash.update(Buffer.alloc(Math.min(chunk, total - at), at / chunk))
  return hash.digest('hex')
}

// Node's own, taken before any response was held.
const HOLDABLE = ['writeHead', 'flushHeaders', 'write', 'end', 'headersSent', 'writableEnded', 'writableNeedDrain']
const NODE_METHODS = ['writeHead', 'flushHeaders', 'write', 'end'].map((name) => ServerResponse.prototype[name as keyof ServerResponse])
const NODE_GETTERS = ['headersSent', 'writableEnded', 'writableNeedDrain'].map((name) => Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, name))

/** Pass-through instance wrappers, as a middleware mounted before the sessions (compression) adds. */
function wrapInstance(res: ServerResponse, calls: string[]): void {
  for (const name of ['writeHead', 'flushHeaders', 'write', 'end'] as const) {
    const inner = res[name] as (...args: unknown[]) => unknown
    ;(res as unknown as Record<string, unknown>)[name] = function (this: ServerResponse, ...args: unknown[]) {
      calls.push(name)
      return inner.apply(this, args)
    }
  }
}

describe('holdResponseHead changes only the responses it holds', () => {
  it("leaves Node's prototypes, and every response not given to it, as Node made them", async () => {
    const ownNames: string[][] = []
    server = await listen((req, res) => {
      if (req.url === '/held') {
        holdWithSlowCommit(res, { delayMs: 10, cookie: 'id=1' })
        res.end('held')
        return
      }
      res.end('plain', () => ownNames.push(Object.getOwnPropertyNames(res).filter((name) => HOLDABLE.includes(name))))
    })
    expect((await fetch(`${server.url}/held`)).headers.getSetCookie()).toEqual(['id=1'])
    await (await fetch(`${server.url}/plain`)).text()
    await vi.waitFor(() => expect(ownNames).toHaveLength(1))
    expect(['writeHead', 'flushHeaders', 'write', 'end'].map((name) => ServerResponse.prototype[name as keyof ServerResponse])).toEqual(NODE_METHODS)
    expect(['headersSent', 'writableEnded', 'writableNeedDrain'].map((name) => Object.getOwnPropertyDescriptor(OutgoingMessage.prototype, name))).toEqual(NODE_GETTERS)
    expect(['headersSent', 'writableEnded', 'writableNeedDrain'].map((name) => Object.getOwnPropertyDescriptor(ServerResponse.prototype, name))).toEqual([undefined, undefined, undefined])
    expect(ownNames).toEqual([[]])
  })
})

describe('holdResponseHead over methods a middleware wrapped first (compression mounted before)', () => {
  it('holds the head until the commit, then calls through the wrapped methods', async () => {
    const calls: string[] = []
    let timeline: Timeline = {}
    server = await listen((_req, res) => {
      wrapInstance(res, calls)
      timeline = holdWithSlowCommit(res, { delayMs: 40, cookie: 'id=1' })
      res.writeHead(302, { location: '/next' })
      res.end()
    })
    const response = await fetch(server.url, { redirect: 'manual' })
    expect(response.headers.get('location')).toBe('/next')
    expect(response.headers.getSetCookie()).toEqual(['id=1'])
    expect(timeline.headLeftAt).toBeGreaterThanOrEqual(timeline.commitDoneAt!)
    expect(calls).toEqual(['writeHead', 'end'])
  })

  it('sends a replacement through the wrapped methods', async () => {
    const calls: string[] = []
    server = await listen((_req, res) => {
      wrapInstance(res, calls)
      holdResponseHead(res, { shouldHold: () => true, beforeHead: () => Promise.resolve(new Response('instead', { status: 503 })) })
      res.end('handler body')
    })
    const response = await fetch(server.url)
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('instead')
    expect(calls).toContain('end')
  })
})

describe('holdResponseHead when shouldHold is false', () => {
  it('sends bytes identical to a response without the holder', async () => {
    const bare = await listen(busyHandler)
    server = await listen((req, res) => {
      holdResponseHead(res, { shouldHold: () => false, beforeHead: () => Promise.resolve(null) })
      busyHandler(req, res)
    })
    try {
      const expected = await rawExchange(bare.port, RAW_GET)
      const actual = await rawExchange(server.port, RAW_GET)
      expect(expected.toString('latin1')).toContain('HTTP/1.1 201 Made')
      expect(actual.equals(expected)).toBe(true)
    } finally {
      await bare.close()
    }
  })

  it('never calls beforeHead and asks shouldHold once', async () => {
    const shouldHold = vi.fn(() => false)
    const beforeHead = vi.fn(() => Promise.resolve(null))
    server = await listen((req, res) => {
      holdResponseHead(res, { shouldHold, beforeHead })
      busyHandler(req, res)
    })
    await rawExchange(server.port, RAW_GET)
    expect(shouldHold).toHaveBeenCalledTimes(1)
    expect(beforeHead).not.toHaveBeenCalled()
  })

  it('creates no promise while the handler sends its reply', async () => {
    let promises = 0
    const hook = createHook({
      init(_id, type) {
        if (type === 'PROMISE') promises++
      },
    })
    let counted: number | undefined
    server = await listen((_req, res) => {
      holdResponseHead(res, { shouldHold: () => false, beforeHead: () => Promise.resolve(null) })
      hook.enable()
      promises = 0
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.write('a')
      res.end('b')
      counted = promises
      hook.disable()
    })
    await rawExchange(server.port, RAW_GET)
    expect(counted).toBe(0)
  })
})

describe('holdResponseHead on node:http', () => {
  it('lets a writeHead redirect leave only after a slow beforeHead, carrying its Set-Cookie', async () => {
    let timeline: Timeline = {}
    server = await listen((_req, res) => {
      timeline = holdWithSlowCommit(res, { delayMs: 100, cookie: 'id=fresh' })
      res.writeHead(302, { location: '/next' })
      res.end()
    })
    const started = performance.now()
    const response = await fetch(`${server.url}/login`, { redirect: 'manual' })
    expect(response.status).toBe(302)
    expect(response.headers.get('location')).toBe('/next')
    expect(response.headers.getSetCookie()).toEqual(['id=fresh'])
    expect(timeline.commitDoneAt).toBeDefined()
    expect(timeline.headLeftAt).toBeGreaterThanOrEqual(timeline.commitDoneAt!)
    expect(timeline.commitDoneAt! - started).toBeGreaterThanOrEqual(95)
  })

  it('reports headersSent and writableEnded as sent while held', async () => {
    const seen: Record<string, boolean> = {}
    server = await listen((_req, res) => {
      holdWithSlowCommit(res, { delayMs: 50, cookie: 'id=1' })
      seen.before = res.headersSent
      res.writeHead(200)
      seen.afterHead = res.headersSent
      seen.endedBeforeEnd = res.writableEnded
      res.end('x')
      seen.endedAfterEnd = res.writableEnded
    })
    await (await fetch(server.url)).text()
    expect(seen).toEqual({ before: false, afterHead: true, endedBeforeEnd: false, endedAfterEnd: true })
  })

  it('lets `if (!res.headersSent) res.writeHead(500)` after end pass without effect', async () => {
    const thrown: unknown[] = []
    server = await listen((_req, res) => {
      holdWithSlowCommit(res, { delayMs: 30, cookie: 'id=1' })
      res.end('fine')
      try {
        if (!res.headersSent) res.writeHead(500)
      } catch (error) {
        thrown.push(error)
      }
    })
    const response = await fetch(server.url)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('fine')
    expect(thrown).toEqual([])
    expect(unhandled).toEqual([])
  })

  it('folds writeHead headers given as an object', async () => {
    let seenByCommit: unknown
    server = await listen((_req, res) => {
      holdWithSlowCommit(res, { delayMs: 10, cookie: 'id=1', onCommit: (r) => (seenByCommit = r.getHeader('x-obj')) })
      res.writeHead(200, { 'x-obj': 'yes', 'cache-control': 'public' })
      res.end()
    })
    const response = await fetch(server.url)
    expect(seenByCommit).toBe('yes')
    expect(response.headers.get('cache-control')).toBe('public')
  })

  it('folds writeHead headers given as a flat array, keeping repeated names', async () => {
    let seenByCommit: unknown
    server = await listen((_req, res) => {
      holdWithSlowCommit(res, { delayMs: 10, cookie: 'id=1', onCommit: (r) => (seenByCommit = r.getHeader('x-flat')) })
      res.setHeader('x-flat', 'replaced')
      res.writeHead(200, ['x-flat', 'one', 'x-flat', 'two'])
      res.end()
    })
    const response = await fetch(server.url)
    expect(seenByCommit).toEqual(['one', 'two'])
    expect(response.headers.get('x-flat')).toBe('one, two')
  })

  it('folds writeHead headers given as an array of pairs', async () => {
    let seenByCommit: unknown
    server = await listen((_req, res) => {
      holdWithSlowCommit(res, { delayMs: 10, cookie: 'id=1', onCommit: (r) => (seenByCommit = r.getHeader('x-pair')) })
      res.writeHead(203, 'Borrowed', [['x-pair', 'p'], ['vary', 'accept']] as unknown as string[])
      res.end()
    })
    const response = await fetch(server.url)
    expect(seenByCommit).toBe('p')
    expect(response.status).toBe(203)
    expect(response.statusText).toBe('Borrowed')
    expect(response.headers.get('vary')).toBe('accept')
  })

  it("keeps the handler's own set-cookie from writeHead next to the commit's", async () => {
    server = await listen((_req, res) => {
      holdWithSlowCommit(res, { delayMs: 10, cookie: 'id=ours' })
      res.setHeader('set-cookie', 'early=1')
      res.writeHead(200, { 'Set-Cookie': ['theme=dark', 'lang=en'] })
      res.end()
    })
    const response = await fetch(server.url)
    expect(response.headers.getSetCookie()).toEqual(['early=1', 'theme=dark', 'lang=en', 'id=ours'])
  })

  it('holds flushHeaders until the commit resolved', async () => {
    let timeline: Timeline = {}
    server = await listen((_req, res) => {
      timeline = holdWithSlowCommit(res, { delayMs: 60, cookie: 'id=1' })
      res.flushHeaders()
      setTimeout(() => res.end('later'), 10)
    })
    const response = await fetch(server.url)
    expect(await response.text()).toBe('later')
    expect(response.headers.getSetCookie()).toEqual(['id=1'])
    expect(timeline.headLeftAt).toBeGreaterThanOrEqual(timeline.commitDoneAt!)
  })

  it('returns false from write while held and emits drain after the replay', async () => {
    const events: string[] = []
    let timeline: Timeline = {}
    server = await listen((_req, res) => {
      timeline = holdWithSlowCommit(res, { delayMs: 40, cookie: 'id=1' })
      events.push(`write:${String(res.write('one,'))}`)
      res.once('drain', () => {
        events.push(`drain:${String(performance.now() >= timeline.commitDoneAt!)}`)
        res.end('two')
      })
    })
    const response = await fetch(server.url)
    expect(await response.text()).toBe('one,two')
    expect(events).toEqual(['write:false', 'drain:true'])
  })

  it('keeps a piped 4 MiB stream paused while held and delivers it intact', async () => {
    const total = 4 * 1024 * 1024
    let pulledWhileHeld = -1
    let pausedWhileHeld: boolean | null = null
    server = await listen((_req, res) => {
      const source = countingSource(total)
      holdWithSlowCommit(res, {
        delayMs: 150,
        cookie: 'id=1',
        onCommit: () => {
          pulledWhileHeld = source.pulled
          pausedWhileHeld = source.readableFlowing
        },
      })
      source.pipe(res)
    })
    const response = await fetch(server.url)
    const body = Buffer.from(await response.arrayBuffer())
    expect(pausedWhileHeld).toBe(false)
    // One chunk queued in the holder plus the source's own 64 KiB buffer, not 4 MiB.
    expect(pulledWhileHeld).toBeLessThanOrEqual(3 * 64 * 1024)
    expect(body.length).toBe(total)
    expect(createHash('sha256').update(body).digest('hex')).toBe(expectedDigest(total))
  })

  it('answers a rejected beforeHead with an empty 500 marked no-store', async () => {
    server = await listen((_req, res) => {
      holdResponseHead(res, { shouldHold: () => true, beforeHead: () => Promise.reject(new Error('secret detail')) })
      res.setHeader('x-handler', '1')
      res.end('handler body')
    })
    const response = await fetch(server.url)
    expect(response.status).toBe(500)
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(response.headers.get('x-handler')).toBeNull()
    expect(await response.text()).toBe('')
  })

  it('destroys the socket when the replay throws, without an unhandled rejection', async () => {
    server = await listen((_req, res) => {
      holdResponseHead(res, {
        shouldHold: () => true,
        beforeHead: async () => {
          await sleep(10)
          // A reason phrase Node refuses only when the head is finally written.
          res.statusMessage = 'bad\r\nreason'
          return null
        },
      })
      res.end('never seen')
    })
    const bytes = await rawExchange(server.port, RAW_GET)
    expect(bytes.length).toBe(0)
    await sleep(20)
    expect(unhandled).toEqual([])
  })

  it('still completes beforeHead when the client has gone, without crash or unhandled rejection', async () => {
    let completed = false
    let resolveGone!: () => void
    const gone = new Promise<void>((resolve) => (resolveGone = resolve))
    const finished = new Promise<void>((resolve) => {
      void listen((_req, res) => {
        res.on('close', () => resolveGone())
        holdResponseHead(res, {
          shouldHold: () => true,
          beforeHead: async () => {
            await gone
            await sleep(20)
            completed = true
            setTimeout(resolve, 30)
            return null
          },
        })
        res.write('partial')
        res.end('rest')
      }).then((s) => {
        server = s
        const req = httpRequest({ port: s.port, host: '127.0.0.1', path: '/' })
        req.on('error', () => undefined)
        req.end()
        // Abort once the request is surely in the handler.
        setTimeout(() => req.destroy(), 30)
      })
    })
    await finished
    expect(completed).toBe(true)
    expect(unhandled).toEqual([])
    const again = await fetch(server!.url)
    expect(again.status).toBe(200)
  })
  it('tolerates a wrapper added later that sends an implicit head before each write, as compression does', async () => {
    type Internal = ServerResponse & { _header: string | null; _implicitHeader(): void }
    const thrown: unknown[] = []
    server = await listen((_req, res) => {
      holdWithSlowCommit(res, { delayMs: 30, cookie: 'id=1' })
      const ours = { write: res.write, end: res.end }
      // compression tests the private `_header`, which stays unset while the head is held.
      res.write = function (this: Internal, ...args: unknown[]) {
        if (!this._header) this._implicitHeader()
        return (ours.write as (...a: unknown[]) => boolean).apply(this, args)
      } as typeof res.write
      res.end = function (this: Internal, ...args: unknown[]) {
        if (!this._header) this._implicitHeader()
        return (ours.end as (...a: unknown[]) => ServerResponse).apply(this, args)
      } as typeof res.end
      try {
        res.write('a,')
        res.write('b,')
        res.end('c')
      } catch (error) {
        thrown.push(error)
      }
    })
    const response = await fetch(server.url)
    expect(await response.text()).toBe('a,b,c')
    expect(response.headers.getSetCookie()).toEqual(['id=1'])
    expect(thrown).toEqual([])
  })

  it('lets two holders on one response both commit before the head leaves', async () => {
    let inner: Timeline = {}
    let outer: Timeline = {}
    server = await listen((_req, res) => {
      inner = holdWithSlowCommit(res, { delayMs: 40, cookie: 'inner=1' })
      outer = holdWithSlowCommit(res, { delayMs: 40, cookie: 'outer=1' })
      res.writeHead(200, { 'content-type': 'text/plain' })
      res.end('both')
    })
    const response = await fetch(server.url)
    expect(await response.text()).toBe('both')
    expect(response.headers.getSetCookie()).toEqual(['outer=1', 'inner=1'])
    expect(inner.headLeftAt).toBeGreaterThanOrEqual(inner.commitDoneAt!)
    expect(inner.commitStartedAt).toBeGreaterThanOrEqual(outer.commitDoneAt!)
  })
})

describe('holdResponseHead with a replacement Response', () => {
  function replacing(res: ServerResponse, delayMs = 30): void {
    holdResponseHead(res, {
      shouldHold: () => true,
      beforeHead: async () => {
        await sleep(delayMs)
        const headers = new Headers({ 'cache-control': 'no-store', 'content-type': 'text/plain' })
        headers.append('set-cookie', 'id=; Max-Age=0')
        return new Response('replaced', { status: 503, statusText: 'Away', headers })
      },
    })
  }

  it("sends the replacement's status, headers and body instead of the handler's", async () => {
    server = await listen((_req, res) => {
      replacing(res)
      res.writeHead(200, { 'x-handler': 'yes', 'set-cookie': 'mine=1' })
      res.end('handler body')
    })
    const response = await fetch(server.url)
    expect(response.status).toBe(503)
    expect(response.statusText).toBe('Away')
    expect(response.headers.get('x-handler')).toBeNull()
    expect(response.headers.getSetCookie()).toEqual(['id=; Max-Age=0'])
    expect(await response.text()).toBe('replaced')
  })

  it('ignores the handler writes made after the replacement, emitting no error', async () => {
    const errors: unknown[] = []
    let laterWrite: boolean | undefined
    let endCallbackRan = false
    server = await listen((_req, res) => {
      res.on('error', (error) => errors.push(error))
      replacing(res, 10)
      res.write('start,')
      setTimeout(() => {
        laterWrite = res.write('after,')
        res.end('end', () => (endCallbackRan = true))
        res.end('again')
      }, 60)
    })
    const response = await fetch(server.url)
    expect(await response.text()).toBe('replaced')
    await sleep(100)
    expect(laterWrite).toBe(true)
    expect(endCallbackRan).toBe(true)
    expect(errors).toEqual([])
  })

  it('unpipes and destroys a stream piped into the response', async () => {
    let source: Readable | undefined
    const errors: unknown[] = []
    server = await listen((_req, res) => {
      source = countingSource(4 * 1024 * 1024)
      res.on('error', (error) => errors.push(error))
      source.on('error', (error) => errors.push(error))
      replacing(res)
      source.pipe(res)
    })
    const response = await fetch(server.url)
    expect(await response.text()).toBe('replaced')
    await sleep(20)
    expect(source?.destroyed).toBe(true)
    expect(errors).toEqual([])
  })
})
