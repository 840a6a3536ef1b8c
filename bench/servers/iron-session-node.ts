// iron-session 8 on node:http: getIronSession(req, res, options) and save() when the data changes.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createServer } from 'node:http'
import { announceReady, counterOf, listenPort, loadPeer, SECRET } from './common.js'

interface PeerSession {
  counter?: unknown
  save(): Promise<void>
}
type GetIronSession = (req: IncomingMessage, res: ServerResponse, options: Record<string, unknown>) => Promise<PeerSession>

const { getIronSession } = await loadPeer<{ getIronSession: GetIronSession }>('iron-session')
const options = {
  password: SECRET,
  cookieName: 'iron',
  // Secure is off only because the benchmark speaks plain HTTP.
  cookieOptions: { secure: false, httpOnly: true, sameSite: 'lax', path: '/' },
}

createServer((req, res) => {
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  if (req.url !== '/counter' && req.url !== '/read') {
    // The untouched route: the session is never opened, as with a middleware that is lazy.
    res.end('ok')
    return
  }
  getIronSession(req, res, options).then(
    async (session) => {
      const value = counterOf(session.counter)
      if (req.url === '/read') return void res.end(String(value))
      session.counter = value + 1
      await session.save()
      res.end(String(value + 1))
    },
    (error: unknown) => {
      console.error(error)
      res.statusCode = 500
      res.end()
    },
  )
}).listen(listenPort(), '127.0.0.1', announceReady)
