// The bare node:http baseline: the same four routes, no session middleware.
import { createServer } from 'node:http'
import { announceReady, listenPort } from './common.js'

createServer((req, res) => {
  res.setHeader('content-type', 'text/plain; charset=utf-8')
  res.end(req.url === '/untouched' || req.url === '/login' ? 'ok' : '1')
}).listen(listenPort(), '127.0.0.1', announceReady)
