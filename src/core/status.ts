/**
 * Where a session stands after the handler's calls, as in actix-session.
 *
 * @example
 * ```ts
 * if (session.status === SessionStatus.Purged) return new Response('bye')
 * ```
 */
export const SessionStatus = {
  Unchanged: 'unchanged',
  Changed: 'changed',
  Renewed: 'renewed',
  Purged: 'purged',
} as const

/** `'unchanged' | 'changed' | 'renewed' | 'purged'`. */
export type SessionStatus = (typeof SessionStatus)[keyof typeof SessionStatus]
