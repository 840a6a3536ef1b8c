// cloakroom on Express 5 through its Express adapter, store from BENCH_STORE.
import express from 'express'
import { getSession, sessions } from '../../dist/adapters/express/index.js'
import { cloakroomOptions } from './cloakroom-store.js'
import { announceReady, counterOf, listenPort } from './common.js'

const app = express()
app.use(sessions(await cloakroomOptions()))
app.get('/counter', async (req, res) => {
  const session = getSession(req)
  const next = counterOf(await session.get('counter')) + 1
  session.insert('counter', next)
  res.send(String(next))
})
app.get('/read', async (req, res) => {
  res.send(String(counterOf(await getSession(req).get('counter'))))
})
app.get('/untouched', (_req, res) => void res.send('ok'))
app.get('/login', (req, res) => {
  const session = getSession(req)
  session.insert('user', 'bench')
  session.renew()
  res.send('ok')
})
app.listen(listenPort(), '127.0.0.1', announceReady)
