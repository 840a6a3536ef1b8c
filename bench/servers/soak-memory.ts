// The soak server: cloakroom on node:http with a bounded memory store, plus /stats so the soak can
// show how many records the store holds.
import { createServer } from 'node:http'
import { withSessions } from '../../dist/adapters/node/index.js'
import { MemoryStore } from '../../dist/index.js'
import { announceReady, counterOf, listenPort, SECRET } from './common.js'

const store = new MemoryStore({
  maxEntries: Number(process.env['SOAK_MAX_ENTRIES'] ?? 100_000),
  maxBytes: Number(process.env['SOAK_MAX_BYTES'] ?? 64 * 1024 * 1024),
  // One line is enough: the soak evicts on purpose.
  logger: { warn: (message: string) => console.error(message) },
})
const sessions = withSessions({ store, keys: [SECRET], cookie: { secure: false } }, async (_req, res, session) => {
  const next = counterOf(await session.get('counter')) + 1
  session.insert('counter', next)
  // A few hundred bytes per session, so the byte bound is exercised as well as the count.
  session.insert('profile', { name: 'soak', note: 'x'.repeat(200) })
  res.end(String(next))
})
createServer((req, res) => {
  if (req.url === '/stats') {
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ entries: store.size, bytes: store.bytes, heapUsed: process.memoryUsage().heapUsed }))
    return
  }
  sessions(req, res)
}).listen(listenPort(), '127.0.0.1', announceReady)
