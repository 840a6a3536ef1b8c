import { createServer } from 'node:http'
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { holdResponseHead } from '../../src/http/hold-head.js'

/** A node:http server on a loopback port, closed (with its keep-alive sockets) by `close()`. */
export interface Loopback {
  port: number
  url: string
  close(): Promise<void>
}

/**
 * Serves `listener` on 127.0.0.1 at a free port.
 *
 * @example
 * ```ts
 * const server = await listen((req, res) => res.end('ok'))
 * await fetch(server.url)
 * await server.close()
 * ```
 */
export async function listen(listener: RequestListener): Promise<Loopback> {
  const server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

/**
 * Sends `request` as raw bytes and collects everything the server writes until it closes.
 *
 * @example
 * ```ts
 * const bytes = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
 * ```
 */
export function rawExchange(port: number, request: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request))
    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    socket.on('error', reject)
    socket.on('close', () => resolve(Buffer.concat(chunks)))
  })
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Server-side instants (performance.now()) of one held exchange. */
export interface Timeline {
  /** When beforeHead was entered. */
  commitStartedAt?: number
  /** When beforeHead was about to resolve. */
  commitDoneAt?: number
  /** When the first byte of the reply was handed to the socket. */
  headLeftAt?: number
}

/**
 * Records when the first byte of `res` is handed to its socket, by shadowing `write` on that one
 * socket (Node's outgoing path calls `socket.write` for every piece of the reply).
 *
 * @example
 * ```ts
 * const timeline: Timeline = {}
 * watchHeadLeaving(res, timeline)
 * ```
 */
export function watchHeadLeaving(res: ServerResponse, timeline: Timeline): void {
  const socket = res.socket
  if (socket === null) return
  const write = socket.write
  socket.write = function (this: typeof socket, ...args: unknown[]): boolean {
    timeline.headLeftAt ??= performance.now()
    return (write as (...a: unknown[]) => boolean).apply(this, args)
  } as typeof socket.write
}

/**
 * Installs the head holder with a `beforeHead` that waits `delayMs`, appends `cookie` as a
 * `Set-Cookie` line and records the timeline.
 *
 * @example
 * ```ts
 * const timeline = holdWithSlowCommit(res, { delayMs: 100, cookie: 'id=abc' })
 * ```
 */
export function holdWithSlowCommit(
  res: ServerResponse,
  options: { delayMs: number; cookie: string; onCommit?: (res: ServerResponse) => void },
): Timeline {
  const timeline: Timeline = {}
  watchHeadLeaving(res, timeline)
  holdResponseHead(res, {
    shouldHold: () => true,
    beforeHead: async () => {
      timeline.commitStartedAt = performance.now()
      await sleep(options.delayMs)
      options.onCommit?.(res)
      res.appendHeader('set-cookie', options.cookie)
      timeline.commitDoneAt = performance.now()
      return null
    },
  })
  return timeline
}

/** The request whose handler is running, for tests that need the `IncomingMessage` too. */
export type Handler = (req: IncomingMessage, res: ServerResponse) => void
