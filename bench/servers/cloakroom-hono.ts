// cloakroom on Hono (on @hono/node-server) through its Hono adapter, store from BENCH_STORE.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { sessions, type SessionVariables } from '../../dist/adapters/hono/index.js'
import { cloakroomOptions } from './cloakroom-store.js'
import { announceReady, counterOf, listenPort } from './common.js'

const app = new Hono<{ Variables: SessionVariables }>()
app.use(sessions(await cloakroomOptions()))
app.get('/counter', async (c) => {
  const session = c.get('session')
  const next = counterOf(await session.get('counter')) + 1
  session.insert('counter', next)
  return c.text(String(next))
})
app.get('/read', async (c) => c.text(String(counterOf(await c.get('session').get('counter')))))
app.get('/untouched', (c) => c.text('ok'))
app.get('/login', (c) => {
  const session = c.get('session')
  session.insert('user', 'bench')
  session.renew()
  return c.text('ok')
})
serve({ fetch: app.fetch, port: listenPort(), hostname: '127.0.0.1' }, announceReady)
