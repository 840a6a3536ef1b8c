// cloakroom on node:http through its node adapter, store from BENCH_STORE.
import { createServer } from 'node:http'
import { withSessions } from '../../dist/adapters/node/index.js'
import { cloakroomOptions } from './cloakroom-store.js'
import { announceReady, counterOf, listenPort } from './common.js'

const handler = withSessions(await cloakroomOptions(), async (req, res, session) => {
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  switch (req.url) {
    case '/counter': {
      const next = counterOf(await session.get('counter')) + 1
      session.insert('counter', next)
      res.end(String(next))
      return
    }
    case '/read':
      res.end(String(counterOf(await session.get('counter'))))
      return
    case '/login':
      session.insert('user', 'bench')
      session.renew()
      res.end('ok')
      return
    default:
      res.end('ok')
  }
})
createServer(handler).listen(listenPort(), '127.0.0.1', announceReady)
