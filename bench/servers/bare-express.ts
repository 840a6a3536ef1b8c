// The bare Express baseline: the same four routes, no session middleware.
import express from 'express'
import { announceReady, listenPort } from './common.js'

const app = express()
app.get('/counter', (_req, res) => void res.send('1'))
app.get('/read', (_req, res) => void res.send('1'))
app.get('/untouched', (_req, res) => void res.send('ok'))
app.get('/login', (_req, res) => void res.send('ok'))
app.listen(listenPort(), '127.0.0.1', announceReady)
