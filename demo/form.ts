import type { Context } from 'hono'

/**
 * A text field of the request's form body; `undefined` when it is absent, not text (a file), or
 * the body cannot be read as a form at all (a malformed multipart body is bad input, not a 500).
 */
export async function formField(c: Context, name: string): Promise<string | undefined> {
  let form: Record<string, unknown>
  try {
    form = await c.req.parseBody()
  } catch {
    return undefined
  }
  const value = form[name]
  return typeof value === 'string' ? value : undefined
}
