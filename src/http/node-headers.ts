import type { ServerResponse } from 'node:http'
import type { HeaderView } from '../core/engine.js'

/**
 * A {@link HeaderView} over a Node `ServerResponse`, so the session manager can merge its
 * `Set-Cookie`, `Cache-Control` and `Vary` into headers the handler set with `setHeader`. A class,
 * so a commit allocates one object and no closures.
 *
 * `get` joins a multi-valued header with `', '` as `Headers.get` does (right for the headers the
 * manager reads: `Cache-Control`, `Vary`); `append` adds a line, so `Set-Cookie` lines are never
 * folded into one.
 */
export class NodeHeaderView implements HeaderView {
  constructor(readonly res: ServerResponse) {}

  get(name: string): string | null {
    const value = this.res.getHeader(name)
    if (value === undefined) return null
    return Array.isArray(value) ? value.join(', ') : String(value)
  }

  set(name: string, value: string): void {
    this.res.setHeader(name, value)
  }

  append(name: string, value: string): void {
    this.res.appendHeader(name, value)
  }
}

/**
 * A {@link NodeHeaderView} of `res`.
 *
 * @example
 * ```ts
 * await manager.commit(session, { status: res.statusCode, headers: nodeHeaderView(res) })
 * ```
 */
export function nodeHeaderView(res: ServerResponse): HeaderView {
  return new NodeHeaderView(res)
}
