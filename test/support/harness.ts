import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import type { AppRoute, RouteResult, RunningApp } from '../../src/testing/adapter-conformance.js'
import type { Json } from '../../src/core/json.js'

/** Reads a JSON body when there is one. */
export async function jsonBody(request: Request): Promise<Json | undefined> {
  if (request.method !== 'POST' || !(request.headers.get('content-type') ?? '').includes('json')) return undefined
  return (await request.json()) as Json
}

/** Turns a route's result into a web Response. */
export function toResponse(result: RouteResult): Response {
  const status = result.status ?? 200
  if (result.redirect !== undefined) return new Response(null, { status: 302, headers: { location: result.redirect } })
  if (result.json !== undefined) return Response.json(result.json, { status })
  return new Response(result.text ?? '', { status, headers: { 'content-type': 'text/plain; charset=utf-8' } })
}

/** The route matching `request`, if any. */
export function findRoute(routes: AppRoute[], request: Request): AppRoute | undefined {
  const path = new URL(request.url).pathname
  return routes.find((route) => route.method === request.method && route.path === path)
}

/**
 * Re-aims the suite's requests (addressed to http://localhost) at a real server at `base`, over
 * real HTTP, without following redirects.
 */
export function forwardTo(base: string): (request: Request) => Promise<Response> {
  return async (request) => {
    const url = new URL(request.url)
    const body = request.method === 'GET' || request.method === 'HEAD' ? undefined : await request.text()
    return fetch(`${base}${url.pathname}${url.search}`, {
      method: request.method,
      headers: request.headers,
      redirect: 'manual',
      ...(body === undefined ? {} : { body }),
    })
  }
}

/** Serves a fetch handler over real HTTP on a free loopback port; requests are re-aimed at it. */
export async function overHttp(fetchHandler: (request: Request) => Response | Promise<Response>): Promise<RunningApp> {
  let server: ServerType | undefined
  const port = await new Promise<number>((resolve) => {
    server = serve({ fetch: fetchHandler, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => resolve(info.port))
  })
  return {
    fetch: forwardTo(`http://127.0.0.1:${port}`),
    close: () => new Promise<void>((resolve) => server!.close(() => resolve())),
  }
}
