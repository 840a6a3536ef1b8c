// koa-session 7 on Koa 3 with the README's production config (its default cookie mode: signed,
// not encrypted, data in the cookie).
import Koa from 'koa'
import { announceReady, counterOf, listenPort, loadPeer, SECRET } from './common.js'

type SessionFactory = (options: Record<string, unknown>, app: Koa) => Koa.Middleware

const { default: session } = await loadPeer<{ default: SessionFactory }>('koa-session')
const app = new Koa()
app.keys = [SECRET]
app.use(
  session(
    {
      key: 'koa.sess',
      maxAge: 86_400_000,
      httpOnly: true,
      signed: true,
      rolling: false,
      renew: false,
      // Secure is off only because the benchmark speaks plain HTTP (Koa refuses it there).
      secure: false,
      sameSite: 'lax',
    },
    app,
  ),
)
app.use((ctx) => {
  const s = (ctx as unknown as { session: { counter?: unknown } }).session
  switch (ctx.path) {
    case '/counter': {
      const next = counterOf(s.counter) + 1
      s.counter = next
      ctx.body = String(next)
      return
    }
    case '/read':
      ctx.body = String(counterOf(s.counter))
      return
    default:
      ctx.body = 'ok'
  }
})
app.listen(listenPort(), '127.0.0.1', announceReady)
