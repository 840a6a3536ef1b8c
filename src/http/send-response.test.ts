import { request as httpRequest } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { sendWebResponse } from './send-response.js'
import { listen } from '../../test/support/node-http-harness.js'
import type { Loopback } from '../../test/support/node-http-harness.js'
import { gate, hangGuard } from '../../test/support/wait.js'

let server: Loopback | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

/**
 * A body that yields `parts` one pull at a time, recording a cancel; after the first part each pull
 * waits for `next` (by default it never waits), so a test can keep the stream open as long as it needs.
 */
function slowBody(
  parts: string[],
  log: { cancelled: boolean; pulled: number },
  next: () => Promise<void> = () => Promise.resolve(),
): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  let index = 0
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index > 0) await next()
      const part = parts[index++]
      log.pulled = index
      if (part === undefined) controller.close()
      else controller.enqueue(encoder.encode(part))
    },
    cancel() {
      log.cancelled = true
    },
  })
}

describe('sendWebResponse', () => {
  it('sends status, status text, two Set-Cookie lines and a streamed body', async () => {
    const log = { cancelled: false, pulled: 0 }
    server = await listen((_req, res) => {
      const headers = new Headers({ 'content-type': 'text/plain', 'x-extra': 'yes' })
      headers.append('set-cookie', 'a=1; Path=/')
      headers.append('set-cookie', 'b=2; Path=/; HttpOnly')
      void sendWebResponse(res, new Response(slowBody(['one,', 'two,', 'three'], log), { status: 202, statusText: 'Queued', headers }))
    })
    const response = await fetch(server.url)
    expect(response.status).toBe(202)
    expect(response.statusText).toBe('Queued')
    expect(response.headers.get('x-extra')).toBe('yes')
    expect(response.headers.get('transfer-encoding')).toBe('chunked')
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/; HttpOnly'])
    expect(await response.text()).toBe('one,two,three')
  })

  it('sends an empty body with Content-Length 0 and the standard reason phrase', async () => {
    server = await listen((_req, res) => {
      void sendWebResponse(res, new Response(null, { status: 500, headers: { 'cache-control': 'no-store' } }))
    })
    const response = await fetch(server.url)
    expect(response.status).toBe(500)
    expect(response.statusText).toBe('Internal Server Error')
    expect(response.headers.get('content-length')).toBe('0')
    expect(response.headers.get('cache-control')).toBe('no-store')
    expect(await response.text()).toBe('')
  })

  it('resolves once the reply has finished', async () => {
    let finishedWhenResolved!: Promise<boolean>
    server = await listen((_req, res) => {
      finishedWhenResolved = sendWebResponse(res, new Response('done')).then(() => res.writableFinished)
    })
    await (await fetch(server.url)).text()
    expect(await hangGuard(finishedWhenResolved, 'sendWebResponse')).toBe(true)
  })

  it('resolves and cancels the body when the client goes away', async () => {
    const log = { cancelled: false, pulled: 0 }
    let outcome!: Promise<string>
    const parts = Array.from({ length: 100 }, (_, i) => `part ${i}\n`)
    // After the first part the body waits for good: only the client leaving can end the reply.
    const never = gate()
    server = await listen((_req, res) => {
      outcome = sendWebResponse(res, new Response(slowBody(parts, log, () => never.wait))).then(
        () => 'resolved',
        () => 'rejected',
      )
    })
    await new Promise<void>((resolve) => {
      const req = httpRequest({ port: server!.port, host: '127.0.0.1' }, (res) => {
        res.once('data', () => {
          req.destroy()
          resolve()
        })
      })
      req.on('error', () => undefined)
      req.end()
    })
    expect(await hangGuard(outcome, 'sendWebResponse after the client left')).toBe('resolved')
    expect(log.cancelled).toBe(true)
    expect(log.pulled).toBeLessThan(parts.length)
  })

  it('rejects and cuts the connection when the body stream fails', async () => {
    let rejection!: Promise<unknown>
    // The source breaks only once the client has the head: the failure is mid-body.
    const breaks = gate()
    server = await listen((_req, res) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('partial'))
        },
        async pull(controller) {
          await breaks.wait
          controller.error(new Error('source broke'))
        },
      })
      rejection = sendWebResponse(res, new Response(body)).then(
        () => undefined,
        (error: unknown) => error,
      )
    })
    const response = await fetch(server.url)
    expect(response.status).toBe(200)
    breaks.open()
    await expect(response.text()).rejects.toThrow()
    expect(((await hangGuard(rejection, 'sendWebResponse')) as Error).message).toBe('source broke')
  })
})
