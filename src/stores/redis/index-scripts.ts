import { script } from './scripts.js'

/**
 * How many entries a user's index holds before a filing starts a sweep, when no listing has set a
 * threshold yet. A listing sets it to twice the live sessions it found (at least this).
 */
export const SWEEP_FIRST = 32

// Index layout: a hash per user at `<prefix>u:{<sha256(userId)>}`; field `h:<handle>` holds the
// session's key without the prefix (`{<tag>}<sha256(id)>`), field `m:sweep` the entry count at which
// the next filing sweeps it (absent: SWEEP_FIRST). Sessions end by expiry without telling anyone, so
// a user who never lists their sessions would otherwise collect an entry per login for good.

/**
 * `read`: KEYS[1] a session key. Returns `{ PEXPIRETIME, HGETALL }` in one step, so a listing sees
 * a record and its expiry together (a key of another type reads as nothing).
 *
 * @example
 * ```ts
 * const [expiresAt, fields] = await send('EVALSHA', [READ.sha, '1', key])
 * ```
 */
export const READ = script(
  'read',
  `
local fields = redis.pcall('HGETALL', KEYS[1])
if fields.err then return { -2, {} } end
return { redis.call('PEXPIRETIME', KEYS[1]), fields }
`,
  'no-writes',
)

/**
 * `index-add`: KEYS[1] a user's index; ARGV handle, session ref. Files the entry, and returns 1 when
 * the index has reached its sweep threshold (the caller then lists the user once, which drops the
 * entries of sessions that ended), else 0. Crossing the threshold doubles it at once, so concurrent
 * filings start one sweep, not one each.
 *
 * @example
 * ```ts
 * await send('EVALSHA', [INDEX_ADD.sha, '1', indexKey, handle, ref])
 * ```
 */
export const INDEX_ADD = script(
  'index-add',
  `
redis.call('HSET', KEYS[1], 'h:' .. ARGV[1], ARGV[2])
local due = tonumber(redis.call('HGET', KEYS[1], 'm:sweep') or '') or ${SWEEP_FIRST}
local entries = redis.call('HLEN', KEYS[1]) - redis.call('HEXISTS', KEYS[1], 'm:sweep')
if entries < due then return 0 end
redis.call('HSET', KEYS[1], 'm:sweep', 2 * entries)
return 1
`,
)

/**
 * `index-fix`: KEYS[1] a user's index; ARGV[1] the next sweep threshold ('' leaves it), then triples
 * of handle, the ref the entry is expected to hold, and its replacement ('' drops the entry). An
 * entry that no longer holds the expected ref was changed by a newer write and is left alone. An
 * index left with no entries is deleted. Returns how many entries it changed.
 *
 * @example
 * ```ts
 * await send('EVALSHA', [INDEX_FIX.sha, '1', indexKey, '', handle, oldRef, ''])
 * ```
 */
export const INDEX_FIX = script(
  'index-fix',
  `
local changed = 0
for i = 2, #ARGV, 3 do
  local field = 'h:' .. ARGV[i]
  if redis.call('HGET', KEYS[1], field) == ARGV[i + 1] then
    if ARGV[i + 2] == '' then redis.call('HDEL', KEYS[1], field) else redis.call('HSET', KEYS[1], field, ARGV[i + 2]) end
    changed = changed + 1
  end
end
local due = tonumber(ARGV[1])
if due and due > ${SWEEP_FIRST} then redis.call('HSET', KEYS[1], 'm:sweep', due)
elseif due then redis.call('HDEL', KEYS[1], 'm:sweep') end
if redis.call('HLEN', KEYS[1]) == redis.call('HEXISTS', KEYS[1], 'm:sweep') then redis.call('DEL', KEYS[1]) end
return changed
`,
  // It mostly frees memory (a logout's or a revoke's cleanup), so it runs while Redis is full.
  'allow-oom',
)
