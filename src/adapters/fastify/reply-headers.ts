import type { FastifyReply } from 'fastify'
import type { HeaderView } from '../../core/engine.js'

/**
 * A {@link HeaderView} over a Fastify reply, so the session manager merges its `Set-Cookie`,
 * `Cache-Control` and `Vary` into the headers the route set with `reply.header()` (and those set
 * on `reply.raw`, which `getHeader` also sees).
 */
export function replyHeaderView(reply: FastifyReply): HeaderView {
  return {
    get(name: string): string | null {
      const value = reply.getHeader(name)
      if (value === undefined) return null
      return Array.isArray(value) ? value.join(', ') : String(value)
    },
    set(name: string, value: string): void {
      reply.header(name, value)
    },
    append(name: string, value: string): void {
      const current = reply.getHeader(name)
      // reply.header() appends Set-Cookie lines itself and replaces every other header.
      if (current === undefined || name.toLowerCase() === 'set-cookie') reply.header(name, value)
      else reply.header(name, [...(Array.isArray(current) ? current : [String(current)]), value])
    },
  }
}
