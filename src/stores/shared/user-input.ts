import { StoreError } from '../../core/errors.js'
import type { RevocationMark } from '../../core/revocation.js'
import type { RevokeSelection } from '../../core/store.js'

// The manager passes well-formed values; these checks answer a direct caller's mistake with a
// StoreError that names the argument, never its value (user ids are personal data).

/**
 * Refuses a user id that is not a string: a SQL backend would otherwise coerce a number into the
 * text it compares with, and list or revoke the sessions of the user whose id reads the same.
 */
export function checkUserId(op: string, userId: unknown): asserts userId is string {
  if (typeof userId !== 'string') throw new StoreError('encode', `${op}: userId must be a string`)
}

/** A revoke selection as the SQL stores run it: the handles to end, or every handle but `except`. */
export type Selection = { readonly handles: readonly string[] } | { readonly except: string | null }

/**
 * Checks a {@link RevokeSelection} and gives it the shape the SQL stores run: distinct handles, or
 * `except` (`null`: spare none).
 */
export function checkSelection(op: string, selection: RevokeSelection): Selection {
  if (typeof selection !== 'object' || selection === null) {
    throw new StoreError('encode', `${op}: the selection must be { handles } or { except? }`)
  }
  if ('handles' in selection) {
    const { handles } = selection
    if (!Array.isArray(handles) || !handles.every((handle) => typeof handle === 'string')) {
      throw new StoreError('encode', `${op}: handles must be an array of strings`)
    }
    return { handles: [...new Set(handles)] }
  }
  const except = 'except' in selection ? selection.except : undefined
  if (except !== undefined && typeof except !== 'string') throw new StoreError('encode', `${op}: except must be a string`)
  return { except: except ?? null }
}

/** Checks a revocation mark and its lifetime (`null`: for good) before a store writes them. */
export function checkMark(op: string, mark: RevocationMark, ttlMs: number | null): void {
  if (typeof mark !== 'object' || mark === null || typeof mark.before !== 'number' || !Number.isSafeInteger(mark.before)) {
    throw new StoreError('encode', `${op}: mark.before must be a whole number of epoch milliseconds`)
  }
  if (mark.except !== undefined && typeof mark.except !== 'string') throw new StoreError('encode', `${op}: mark.except must be a string`)
  if (ttlMs !== null && (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs <= 0)) {
    throw new StoreError('encode', `${op}: ttlMs must be a positive number of milliseconds, or null for a mark kept for good`)
  }
}
