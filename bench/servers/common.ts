/**
 * What every benchmark server shares: the port it listens on, the secret, the cookie attributes and
 * the way it tells the harness it is ready. Each server is its own process, started by `run.ts`.
 *
 * @module
 */

/**
 * A secret of 32+ characters, the same for every library. Fixed so that a run can be repeated; it
 * protects nothing.
 *
 * @example
 * ```ts
 * app.use(session({ secret: SECRET }))
 * ```
 */
export const SECRET = 'cloakroom-bench-secret-not-for-production-0123456789'

/**
 * The port from `PORT`, which the harness always sets.
 *
 * @example
 * ```ts
 * server.listen(listenPort(), '127.0.0.1', announceReady)
 * ```
 */
export function listenPort(): number {
  const port = Number(process.env['PORT'])
  if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set to the port to listen on')
  return port
}

/**
 * Tells the harness that the server accepts connections (it waits for this line on stdout).
 *
 * @example
 * ```ts
 * server.listen(listenPort(), '127.0.0.1', announceReady)
 * ```
 */
export function announceReady(): void {
  process.stdout.write('ready\n')
}

/**
 * The counter a session holds, read leniently: anything but a number counts as 0, as a fresh
 * session does. Every library's `/counter` and `/read` go through it, so the routes mean the same.
 *
 * @example
 * ```ts
 * const next = counterOf(await session.get('counter')) + 1
 * ```
 */
export function counterOf(value: unknown): number {
  return typeof value === 'number' ? value : 0
}

/**
 * Loads a peer library by a name the type checker does not follow. The peers augment the same
 * framework types as cloakroom's adapters (`req.session`, `request.session`, `ctx.session`) with
 * other shapes; importing their declarations would make the repository's one type-check program
 * contradict itself. Each server states the few members it uses instead.
 *
 * @example
 * ```ts
 * const { default: session } = await loadPeer<{ default: KoaSession }>('koa-session')
 * ```
 */
export async function loadPeer<T>(name: string): Promise<T> {
  return (await import(name)) as T
}

// The harness stops a server with SIGTERM; exiting normally lets `node --cpu-prof` write its profile.
process.once('SIGTERM', () => process.exit(0))
