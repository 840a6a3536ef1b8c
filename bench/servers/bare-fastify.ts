// The bare Fastify baseline: the same four routes, no session middleware.
import Fastify from 'fastify'
import { announceReady, listenPort } from './common.js'

const app = Fastify()
app.get('/counter', async () => '1')
app.get('/read', async () => '1')
app.get('/untouched', async () => 'ok')
app.get('/login', async () => 'ok')
await app.listen({ port: listenPort(), host: '127.0.0.1' })
announceReady()
