// The bare Hono baseline (on @hono/node-server): the same four routes, no session middleware.
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { announceReady, listenPort } from './common.js'

const app = new Hono()
app.get('/counter', (c) => c.text('1'))
app.get('/read', (c) => c.text('1'))
app.get('/untouched', (c) => c.text('ok'))
app.get('/login', (c) => c.text('ok'))
serve({ fetch: app.fetch, port: listenPort(), hostname: '127.0.0.1' }, announceReady)
