import { afterEach, describe, expect, it } from 'vitest'
import { nodeHeaderView } from './node-headers.js'
import { listen } from '../../test/support/node-http-harness.js'
import type { Loopback } from '../../test/support/node-http-harness.js'

let server: Loopback | undefined

afterEach(async () => {
  await server?.close()
  server = undefined
})

describe('nodeHeaderView', () => {
  it('reads a multi-valued header joined with a comma', async () => {
    let read: string | null = null
    server = await listen((_req, res) => {
      res.setHeader('vary', ['Accept', 'Origin'])
      read = nodeHeaderView(res).get('Vary')
      res.end()
    })
    await fetch(server.url)
    expect(read).toBe('Accept, Origin')
  })

  it('reads an absent header as null and a numeric one as text', async () => {
    let read: (string | null)[] = []
    server = await listen((_req, res) => {
      res.setHeader('content-length', 0)
      const view = nodeHeaderView(res)
      read = [view.get('cache-control'), view.get('Content-Length')]
      res.end()
    })
    await fetch(server.url)
    expect(read).toEqual([null, '0'])
  })

  it('replaces a header with set', async () => {
    server = await listen((_req, res) => {
      res.setHeader('cache-control', 'public, max-age=60')
      nodeHeaderView(res).set('Cache-Control', 'no-store')
      res.end()
    })
    const response = await fetch(server.url)
    expect(response.headers.get('cache-control')).toBe('no-store')
  })

  it('adds Set-Cookie lines with append, never combining them', async () => {
    server = await listen((_req, res) => {
      res.setHeader('set-cookie', 'theme=dark')
      const view = nodeHeaderView(res)
      view.append('Set-Cookie', 'id=abc; Path=/; HttpOnly')
      view.append('set-cookie', 'other=1, with comma')
      res.end()
    })
    const response = await fetch(server.url)
    expect(response.headers.getSetCookie()).toEqual(['theme=dark', 'id=abc; Path=/; HttpOnly', 'other=1, with comma'])
  })
})
