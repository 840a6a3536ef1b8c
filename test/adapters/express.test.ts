import express from 'express'
import type { NextFunction, Request, Response } from 'express'
import { describe, it } from 'vitest'
import { sessions } from '../../src/adapters/express/index.js'
import type { SessionOptions } from '../../src/core/options.js'
import { generateKey } from '../../src/crypto/keys.js'
import { CookieStore } from '../../src/stores/cookie/index.js'
import { MemoryStore } from '../../src/stores/memory/index.js'
import { defineAdapterConformance, type AdapterHarness, type AppRoute, type RouteResult } from '../../src/testing/adapter-conformance.js'
import type { Json } from '../../src/core/json.js'
import { serveListener } from './node-app-harness.js'

// The `express4` alias has no type declarations of its own; its surface here is Express 5's.
const express4 = ((await import('express4' as string)) as { default: typeof express }).default

function render(res: Response, result: RouteResult): void {
  // Thrown inside the promise below, so it reaches next(err) and the error handler.
  if (result.throwStatus !== undefined) throw Object.assign(new Error('refused'), { status: result.throwStatus })
  if (result.redirect !== undefined) return res.redirect(302, result.redirect)
  res.status(result.status ?? 200)
  if (result.json !== undefined) {
    res.json(result.json)
    return
  }
  res.type('text/plain').send(result.text ?? '')
}

function expressApp(framework: typeof express, options: SessionOptions, routes: AppRoute[]): express.Express {
  const app = framework()
  app.use(framework.json())
  app.use(sessions(options))
  for (const route of routes) {
    const method = route.method === 'GET' ? 'get' : 'post'
    // Express 4 does not catch a rejected promise: hand it to next() as Express 5 would.
    app[method](route.path, (req: Request, res: Response, next: NextFunction) => {
      const body = (req.body as Json | undefined) ?? undefined
      Promise.resolve(route.handler(req.session, body)).then((result) => render(res, result)).catch(next)
    })
  }
  // The usual error handler: an error's own `status`, else 500.
  app.use((error: { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
    res.status(typeof error.status === 'number' ? error.status : 500).type('text/plain').send('error')
  })
  return app
}

const stores = [
  { name: 'memory', make: () => new MemoryStore() },
  { name: 'cookie', make: () => new CookieStore() },
]

for (const [name, framework] of [
  ['Express 5', express],
  ['Express 4', express4],
] as const) {
  const harness: AdapterHarness = {
    name: `${name} (real HTTP, loopback)`,
    start: async (options, routes) => serveListener(expressApp(framework, options, routes)),
  }
  defineAdapterConformance({ test: { describe, it }, harness, stores, makeKey: generateKey })
}
