/**
 * Every server the benchmark runs: the bare frameworks, the peers as their READMEs configure them,
 * and cloakroom on each framework with each store. One small file per (library, framework) under
 * `servers/`; the store comes in through `BENCH_STORE`.
 *
 * @module
 */

/** A framework every library is measured on, bare first. */
export type Framework = 'node' | 'hono' | 'express' | 'fastify' | 'koa'

/** The routes; `/login` (renew) only where the store keeps server-side state. */
export type Route = '/counter' | '/read' | '/untouched' | '/login'

/** One server to measure. */
export interface Target {
  /** Unique, e.g. `cloakroom/express/redis`. */
  id: string
  framework: Framework
  /** `bare` for the framework alone. */
  library: string
  store: string
  file: string
  env: Record<string, string>
  routes: Route[]
  /** Whether the server keeps state: it gets `/login`, and its counters can lose writes. */
  serverStore: boolean
}

const COOKIE_ROUTES: Route[] = ['/counter', '/read', '/untouched']
const SERVER_ROUTES: Route[] = ['/counter', '/read', '/untouched', '/login']

/** The frameworks in the order the report lists them. */
export const FRAMEWORKS: Framework[] = ['node', 'hono', 'express', 'fastify', 'koa']

/** cloakroom's stores in the order the report lists them. */
export const CLOAKROOM_STORES = ['cookie', 'memory', 'redis', 'postgres', 'sqlite'] as const

function bare(framework: Framework): Target {
  // The bare servers answer every route the same way, so one route measures them.
  return { id: `bare/${framework}`, framework, library: 'bare', store: '-', file: `bench/servers/bare-${framework}.ts`, env: {}, routes: ['/counter'], serverStore: false }
}

function peer(framework: Framework, library: string, store: string, file: string, serverStore: boolean): Target {
  return {
    id: `${library}/${framework}/${store}`,
    framework,
    library,
    store,
    file: `bench/servers/${file}.ts`,
    env: { BENCH_STORE: store },
    routes: serverStore ? SERVER_ROUTES : COOKIE_ROUTES,
    serverStore,
  }
}

/**
 * All targets, in run order: each framework's bare server, its peers, then cloakroom with every store.
 *
 * @example
 * ```ts
 * const targets = allTargets().filter((t) => t.framework === 'hono')
 * ```
 */
export function allTargets(): Target[] {
  const peers: Record<Framework, Target[]> = {
    node: [peer('node', 'iron-session', 'cookie', 'iron-session-node', false)],
    hono: [peer('hono', 'hono-sessions', 'cookie', 'hono-sessions', false)],
    express: [
      peer('express', 'express-session', 'memory', 'express-session', true),
      peer('express', 'express-session', 'redis', 'express-session', true),
    ],
    fastify: [
      peer('fastify', '@fastify/secure-session', 'cookie', 'fastify-secure-session', false),
      peer('fastify', '@fastify/session', 'memory', 'fastify-session', true),
    ],
    koa: [peer('koa', 'koa-session', 'cookie', 'koa-session', false)],
  }
  // BENCH_COOKIE_CACHE=compare adds cloakroom with its cookie cache off (cookie and memory stores),
  // so what the cache saves is measured in the same run as the rest.
  const compare = process.env['BENCH_COOKIE_CACHE'] === 'compare'
  return FRAMEWORKS.flatMap((framework) => [
    bare(framework),
    ...peers[framework],
    ...CLOAKROOM_STORES.map((store) => peer(framework, 'cloakroom', store, `cloakroom-${framework}`, store !== 'cookie')),
    ...(compare ? (['cookie', 'memory'] as const).map((store) => uncached(peer(framework, 'cloakroom', store, `cloakroom-${framework}`, store !== 'cookie'))) : []),
  ])
}

function uncached(target: Target): Target {
  return { ...target, id: target.id.replace(/^cloakroom\//, 'cloakroom-uncached/'), library: 'cloakroom-uncached', env: { ...target.env, BENCH_COOKIE_CACHE: '0' } }
}
