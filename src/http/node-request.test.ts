import { IncomingMessage } from 'node:http'
import type { IncomingMessage as Incoming } from 'node:http'
import { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { cookieHeaderOf, toWebRequest } from './node-request.js'
import { listen, rawExchange } from '../../test/support/node-http-harness.js'
import type { Loopback } from '../../test/support/node-http-harness.js'

let server: Loopback | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

/** Sends `request` raw and hands back the `IncomingMessage` the server saw. */
async function received(request: string): Promise<Incoming> {
  let seen: Incoming | undefined
  server = await listen((req, res) => {
    seen = req
    res.end()
  })
  await rawExchange(server.port, request)
  if (seen === undefined) throw new Error('the server saw no request')
  return seen
}

describe('cookieHeaderOf', () => {
  it('returns the Cookie header, with repeated lines joined by Node', async () => {
    const req = await received('GET / HTTP/1.1\r\nHost: a\r\nCookie: id=1\r\nCookie: x=2\r\nConnection: close\r\n\r\n')
    expect(cookieHeaderOf(req)).toBe('id=1; x=2')
  })

  it('returns undefined when there is no Cookie header', async () => {
    const req = await received('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    expect(cookieHeaderOf(req)).toBeUndefined()
  })

  it('joins an array form with "; "', () => {
    const req = new IncomingMessage(new Socket())
    ;(req.headers as Record<string, unknown>).cookie = ['id=1', 'x=2']
    expect(cookieHeaderOf(req)).toBe('id=1; x=2')
  })
})

describe('toWebRequest', () => {
  it('carries the method, the URL from Host and the headers', async () => {
    const req = await received('DELETE /items/7?force=1 HTTP/1.1\r\nHost: shop.example:8080\r\nX-Trace: abc\r\nConnection: close\r\n\r\n')
    const request = toWebRequest(req)
    expect(request.method).toBe('DELETE')
    expect(request.url).toBe('http://shop.example:8080/items/7?force=1')
    expect(request.headers.get('x-trace')).toBe('abc')
    expect(request.body).toBeNull()
  })

  it('keeps a path that starts with two slashes on the request host', async () => {
    const req = await received('GET //other.example/x HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n')
    expect(toWebRequest(req).url).toBe('http://shop.example//other.example/x')
  })

  it('falls back to localhost when the request has no Host', async () => {
    const req = await received('GET /old HTTP/1.0\r\n\r\n')
    expect(toWebRequest(req).url).toBe('http://localhost/old')
  })

  it('describes a method fetch forbids as GET instead of throwing', async () => {
    const req = await received('TRACE / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
    expect(toWebRequest(req).method).toBe('GET')
  })
})
