import { encodeBase64url } from '../crypto/format.js'
import { pooledRandomBytes } from '../crypto/random.js'
import { EVERYONE } from './revocation.js'
import type { ResolvedOptions } from './options.js'
import type { CommitView } from './session.js'
import type { ChangeSet, SessionOwner, SessionStore } from './store.js'
import type { Json } from './json.js'

/** 128 random bits: a handle names a session in a listing without giving away its id. */
const HANDLE_BYTES = 16

type AccountOptions = Pick<ResolvedOptions, 'userKey' | 'describe' | 'lastSeenIntervalMs'>

/** The user id a value at `userKey` files a session under, or `null` when it files it under no one. */
function userOf(value: Json | undefined): string | null {
  return typeof value === 'string' && value !== '' && value !== EVERYONE ? value : null
}

/** A fresh filing under `userId`: a new handle, seen now, described as the app asks. */
export function newOwner(userId: string, options: AccountOptions, request: Request | undefined): SessionOwner {
  return {
    userId,
    handle: encodeBase64url(pooledRandomBytes(HANDLE_BYTES)),
    lastSeenAt: Date.now(),
    info: describeClient(options, request),
  }
}

function describeClient(options: AccountOptions, request: Request | undefined): Record<string, string> {
  if (options.describe === undefined) return {}
  const described = options.describe(request)
  const info: Record<string, string> = {}
  // Only strings are kept: the listing shows them as they are, and every store can hold them.
  for (const [key, value] of Object.entries(described ?? {})) if (typeof value === 'string') info[key] = value
  return info
}

/**
 * What a commit does to the session's filing, for a session that has a record: a new owner (a
 * login, or a different user), a refreshed one (lastSeenAt due), `null` (the user id was removed
 * or cleared), or `undefined` (nothing to write about it). Without `userKey`, always `undefined`.
 *
 * When the handler did not read the session, its current filing is unknown: setting the user id
 * then files it afresh (a new handle), and removing it unfiles it.
 */
export function ownerChange(state: CommitView, options: AccountOptions, request: Request | undefined): SessionOwner | null | undefined {
  const { userKey } = options
  if (userKey === undefined) return undefined
  const { changes } = state
  const current = state.record?.owner
  if (Object.hasOwn(changes.set, userKey)) {
    const user = userOf(changes.set[userKey])
    if (user === null) return current === undefined && state.loaded ? undefined : null
    if (current?.userId === user) return refreshed(current, options)
    return newOwner(user, options, request)
  }
  if (changes.clear || changes.remove.includes(userKey)) return current === undefined && state.loaded ? undefined : null
  return current === undefined ? undefined : refreshed(current, options)
}

function refreshed(owner: SessionOwner, options: AccountOptions): SessionOwner | undefined {
  const now = Date.now()
  return now - owner.lastSeenAt >= options.lastSeenIntervalMs ? { ...owner, lastSeenAt: now } : undefined
}

/** The owner a brand-new session holding `data` is filed under, if any. */
export function ownerOfNew(data: Record<string, Json>, options: AccountOptions, request: Request | undefined): SessionOwner | undefined {
  if (options.userKey === undefined) return undefined
  const user = userOf(Object.hasOwn(data, options.userKey) ? data[options.userKey] : undefined)
  return user === null ? undefined : newOwner(user, options, request)
}

/** The change set with the filing added, or the same object when there is nothing to add. */
export function withOwner(changes: ChangeSet, owner: SessionOwner | null | undefined): ChangeSet {
  return owner === undefined ? changes : { ...changes, owner }
}

/**
 * Keeps a user within `maxSessionsPerUser` after `owner`'s session was filed: ends the least
 * recently seen of the others, as many as are over the limit.
 */
export async function enforceSessionLimit(store: SessionStore, owner: SessionOwner, max: number): Promise<void> {
  if (store.listByUser === undefined || store.revokeByUser === undefined) return
  const sessions = await store.listByUser(owner.userId)
  const excess = sessions.length - max
  if (excess <= 0) return
  const oldest = sessions
    .filter((entry) => entry.handle !== owner.handle)
    .sort((a, b) => a.lastSeenAt - b.lastSeenAt || a.createdAt - b.createdAt)
    .slice(0, excess)
  if (oldest.length > 0) await store.revokeByUser(owner.userId, { handles: oldest.map((entry) => entry.handle) })
}
