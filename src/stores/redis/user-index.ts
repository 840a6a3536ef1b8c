import type { RevokeSelection, UserSessionEntry } from '../../core/store.js'
import { endChain } from './chain.js'
import type { RedisCommander } from './client.js'
import { decodeRecord, fieldPairs, forwardOf } from './codec.js'
import { withDeadline } from './errors.js'
import type { Deadline } from './errors.js'
import { evalScript } from './eval.js'
import { INDEX_ADD, INDEX_FIX, READ, SWEEP_FIRST } from './index-scripts.js'
import { indexKey, keyOfHash, keyOfRef, refOf } from './keys.js'
import type { Filing, FilingChange } from './replies.js'
import { send } from './send.js'

// A listing follows a renew's forwarding marker when an entry still names the old key (the renew's
// index update failed or has not landed yet); as many hops as a delete follows.
const MAX_FORWARD_HOPS = 16
const HANDLE = 'h:'
const SWEEP = 'm:sweep'

/** An index entry to change if it still holds `expected`: to `replacement`, or dropped when ''. */
type Fix = [handle: string, expected: string, replacement: string]

/**
 * The per-user index of a {@link RedisStore}: a hash per user (one Cluster slot, the user's hash
 * tag) from each filed session's handle to its record's key. It cannot change in one atomic step
 * with records in other slots, so the record is the truth: the store writes the record first and the
 * entry after (a filing whose entry failed is a call that failed, so no cookie names that session),
 * a listing reads every record its entries name and drops the entries whose record is gone or filed
 * otherwise, and a revoke checks in the record's own script that it is filed under that user.
 *
 * @internal
 */
export class UserIndex {
  readonly #redis: RedisCommander
  readonly #prefix: string
  readonly #timeoutMs: number
  readonly #ended: (key: string, remaining: Deadline) => Promise<void>

  /** `ended` runs after a revoke ended a session (the store's durability wait). */
  constructor(redis: RedisCommander, prefix: string, timeoutMs: number, ended: (key: string, remaining: Deadline) => Promise<void> = async () => {}) {
    this.#redis = redis
    this.#prefix = prefix
    this.#timeoutMs = timeoutMs
    this.#ended = ended
  }

  /**
   * Keeps the index in step with a write that reported the session's filing: files the session
   * under its user (after a renew: at its new key), and drops the entry of a filing it lost. A
   * failed drop is not the caller's failure: a stale entry is only a pointer, dropped by the next
   * listing. A failed filing is: the caller must not hand out a session its user cannot revoke.
   */
  async follow(change: FilingChange, oldKey: string, newKey: string, remaining: Deadline): Promise<void> {
    const { before, after } = change
    const same = before !== null && after !== null && before.userId === after.userId && before.handle === after.handle
    const dropping = before !== null && !same ? this.drop(before, [oldKey], remaining) : Promise.resolve()
    if (after !== null && !(same && oldKey === newKey)) await this.add(after, newKey, remaining)
    await dropping
  }

  /** Files the session at `key` under `filing`; a full index starts a sweep (a listing) in the background. */
  async add(filing: Filing, key: string, remaining: Deadline): Promise<void> {
    const index = indexKey(this.#prefix, filing.userId)
    const due = await evalScript(this.#redis, INDEX_ADD, [index], [filing.handle, refOf(this.#prefix, key)], remaining)
    // Not awaited: the login that crossed the threshold does not wait for the user's other sessions.
    // A sweep that fails changes nothing but the threshold, and the next listing sweeps anyway.
    if (Number(due) === 1) this.list(filing.userId).catch(() => {})
  }

  /** Drops `filing`'s entry if it still names one of `keys`; never rejects (see {@link follow}). */
  async drop(filing: Filing, keys: readonly string[], remaining: Deadline): Promise<void> {
    const fixes = keys.flatMap((key) => [filing.handle, refOf(this.#prefix, key), ''])
    const index = indexKey(this.#prefix, filing.userId)
    await evalScript(this.#redis, INDEX_FIX, [index], ['', ...fixes], remaining).catch(() => {})
  }

  /**
   * The live sessions filed under `userId`, newest first: one HGETALL of the index, then one read
   * per entry (all sent at once; each routed to its own slot), then one script on the index when an
   * entry must be dropped or repaired, all within `timeoutMs`.
   */
  list(userId: string): Promise<UserSessionEntry[]> {
    return withDeadline(this.#redis, this.#timeoutMs, 'listByUser', async (remaining) => {
      const { index, entries, due } = await this.#entries(userId, remaining)
      const found = await Promise.all([...entries].map(([handle, ref]) => this.#resolve(userId, handle, ref, remaining)))
      const listed = found.flatMap((result) => (result.entry === undefined ? [] : [result.entry]))
      const fixes = found.flatMap((result) => (result.fix === undefined ? [] : [result.fix]))
      const nextDue = String(Math.max(SWEEP_FIRST, 2 * listed.length))
      if (fixes.length > 0 || (due ?? String(SWEEP_FIRST)) !== nextDue) {
        await evalScript(this.#redis, INDEX_FIX, [index], [nextDue, ...fixes.flat()], remaining)
      }
      return listed.sort((a, b) => b.createdAt - a.createdAt)
    })
  }

  /**
   * Ends the selected sessions of `userId` as `delete` does, each only if its record is filed under
   * that user with that handle (checked inside its delete script), then drops their entries, and
   * returns how many it ended. The sessions' scripts are all sent at once, each routed to its slot.
   */
  revoke(userId: string, selection: RevokeSelection): Promise<number> {
    return withDeadline(this.#redis, this.#timeoutMs, 'revokeByUser', async (remaining) => {
      const { index, entries } = await this.#entries(userId, remaining)
      const chosen = 'handles' in selection ? new Set(selection.handles) : undefined
      const except = 'except' in selection ? selection.except : undefined
      const selected = [...entries].filter(([handle]) => (chosen !== undefined ? chosen.has(handle) : handle !== except))
      const ended = await Promise.all(
        selected.map(async ([handle, ref]) => {
          const start = keyOfRef(this.#prefix, ref)
          if (start === null) return false
          const { ended } = await endChain(this.#redis, this.#prefix, start, { userId, handle }, remaining)
          if (ended) await this.#ended(start.key, remaining)
          return ended
        }),
      )
      // Ended or not, the entries are done with: an entry whose record is gone or filed otherwise is stale.
      const fixes = selected.flatMap(([handle, ref]) => [handle, ref, ''])
      if (fixes.length > 0) await evalScript(this.#redis, INDEX_FIX, [index], ['', ...fixes], remaining)
      return ended.filter(Boolean).length
    })
  }

  /** The index's entries (handle → ref) and its sweep threshold, as one HGETALL. */
  async #entries(userId: string, remaining: Deadline): Promise<{ index: string; entries: Map<string, string>; due: string | undefined }> {
    const index = indexKey(this.#prefix, userId)
    const reply = await send(this.#redis, 'HGETALL', [index], index, false, remaining)
    const entries = new Map<string, string>()
    let due: string | undefined
    for (const [field, value] of fieldPairs(reply) ?? []) {
      if (field.startsWith(HANDLE)) entries.set(field.slice(HANDLE.length), value)
      else if (field === SWEEP) due = value
    }
    return { index, entries, due }
  }

  /**
   * What one entry stands for: the listed session when its record (followed through forwarding
   * markers) is filed under `userId` with this handle, and the fix the entry needs: repointed to
   * the renewed key, or dropped when the record is gone or filed otherwise.
   */
  async #resolve(userId: string, handle: string, ref: string, remaining: Deadline): Promise<{ entry?: UserSessionEntry; fix?: Fix }> {
    const drop: Fix = [handle, ref, '']
    let at = keyOfRef(this.#prefix, ref)
    for (let hop = 0; at !== null && hop <= MAX_FORWARD_HOPS; hop++) {
      const reply = await evalScript(this.#redis, READ, [at.key], [], remaining)
      const [expiresAt, fields] = Array.isArray(reply) ? (reply as [unknown, unknown]) : [null, null]
      const record = decodeRecord(fields)
      if (record !== null) {
        const { owner } = record
        if (owner === undefined || owner.userId !== userId || owner.handle !== handle) return { fix: drop }
        const entry: UserSessionEntry = {
          handle,
          createdAt: record.createdAt,
          lastSeenAt: owner.lastSeenAt,
          expiresAt: Number(expiresAt),
          info: owner.info,
        }
        const now = refOf(this.#prefix, at.key)
        return now === ref ? { entry } : { entry, fix: [handle, ref, now] }
      }
      const hash = forwardOf(fields)
      at = hash === null ? null : { key: keyOfHash(this.#prefix, at.tag, hash), tag: at.tag }
    }
    return { fix: drop }
  }
}
