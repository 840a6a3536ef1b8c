// The bare Koa baseline: the same four routes, no session middleware.
import Koa from 'koa'
import { announceReady, listenPort } from './common.js'

const app = new Koa()
app.use((ctx) => {
  ctx.body = ctx.path === '/untouched' || ctx.path === '/login' ? 'ok' : '1'
})
app.listen(listenPort(), '127.0.0.1', announceReady)
