import type { ServerResponse } from 'node:http'
import { copyResponseHeaders } from './copy-response.js'

/**
 * The two calls through which a web `Response`'s body reaches a `ServerResponse`. Usually the
 * response's own `write`/`end`; the head-holding wrapper passes the methods it captured, so a
 * replacement reply does not go back through the handler's (silenced) ones.
 */
export interface BodyWriter {
  write(chunk: Uint8Array): boolean
  end(): void
}

/**
 * Writes a web `Response` to a Node `ServerResponse`: status, status text, every header (each
 * `Set-Cookie` line kept apart, via `getSetCookie()`), then the body, streamed with backpressure.
 * Headers already set on `res` stay unless the `Response` names them.
 *
 * Resolves once the reply has finished or the connection has closed (a client that went away is
 * not an error: the rest of the body is cancelled at once, even while the body is waiting for its
 * next chunk). Rejects only when the body stream itself fails;
 * the socket is destroyed first, since a reply cut short cannot be mended.
 */
export function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  return writeWebResponse(res, response, {
    write: (chunk) => res.write(chunk),
    end: () => {
      res.end()
    },
  })
}

/**
 * {@link sendWebResponse} with the body going through `writer` instead of `res.write`/`res.end`.
 * The head is set with `statusCode`, `statusMessage` and `setHeader`, and leaves with the first
 * body call, so Node computes `Content-Length: 0` for an empty body and chunks a streamed one.
 */
export async function writeWebResponse(res: ServerResponse, response: Response, writer: BodyWriter): Promise<void> {
  res.statusCode = response.status
  // An empty statusMessage makes Node fill in the standard reason phrase for the status.
  res.statusMessage = response.statusText
  copyResponseHeaders(response, (name, value) => res.setHeader(name, value))

  const body = response.body
  if (body === null) {
    writer.end()
    return settled(res)
  }
  const reader = body.getReader()
  // A client that leaves while the body is quiet (a read pending, as in a stream of rare events)
  // is noticed at once, not at the next chunk: cancelling ends the pending read.
  const cancelOnClose = (): void => void reader.cancel().catch(() => undefined)
  res.once('close', cancelOnClose)
  try {
    for (;;) {
      if (res.destroyed) {
        // The client is gone: nothing will read the rest, so stop producing it.
        await reader.cancel()
        return
      }
      const { done, value } = await reader.read()
      if (done) break
      if (!writer.write(value)) await drained(res)
    }
  } catch (error) {
    res.destroy()
    reader.cancel(error).catch(() => undefined)
    throw error
  } finally {
    res.off('close', cancelOnClose)
  }
  // Cancelled because the client left: there is no reply to end.
  if (res.destroyed) return
  writer.end()
  return settled(res)
}

/** Resolves when a full socket buffer has room again, or at once when it never will. */
function drained(res: ServerResponse): Promise<void> {
  return res.destroyed || !res.writableNeedDrain ? Promise.resolve() : eventOrClose(res, 'drain')
}

/** Resolves when the reply has been handed to the socket, or the connection closed first. */
function settled(res: ServerResponse): Promise<void> {
  return res.writableFinished || res.destroyed ? Promise.resolve() : eventOrClose(res, 'finish')
}

/** Resolves at the first `event` or `'close'`, whichever comes first, leaving no listener behind. */
function eventOrClose(res: ServerResponse, event: 'drain' | 'finish'): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off(event, done)
      res.off('close', done)
      resolve()
    }
    res.on(event, done)
    res.on('close', done)
  })
}
