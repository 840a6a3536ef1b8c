// cloakroom on Koa 3 through its Koa adapter, store from BENCH_STORE.
import Koa from 'koa'
import { getSession, sessions } from '../../dist/adapters/koa/index.js'
import { cloakroomOptions } from './cloakroom-store.js'
import { announceReady, counterOf, listenPort } from './common.js'

const app = new Koa()
app.use(sessions(await cloakroomOptions()))
app.use(async (ctx) => {
  const session = getSession(ctx)
  switch (ctx.path) {
    case '/counter': {
      const next = counterOf(await session.get('counter')) + 1
      session.insert('counter', next)
      ctx.body = String(next)
      return
    }
    case '/read':
      ctx.body = String(counterOf(await session.get('counter')))
      return
    case '/login':
      session.insert('user', 'bench')
      session.renew()
      ctx.body = 'ok'
      return
    default:
      ctx.body = 'ok'
  }
})
app.listen(listenPort(), '127.0.0.1', announceReady)
