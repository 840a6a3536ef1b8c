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
local count = redis.call('HLEN', KEYS[1])
if count == 0 then return 0 end
local sweep = redis.call('HEXISTS', KEYS[1], 'm:sweep')
local entries = count - sweep
-- Everything is read first and written last, deletions after additions, and the key is deleted
-- only as the very last command: the index never vanishes while the script still has commands for
-- it (in a migrating slot, a command on a key this node no longer holds stops the script half-way).
local now, order, changed = {}, {}, 0
for i = 2, #ARGV, 3 do
  local field = 'h:' .. ARGV[i]
  local value = now[field]
  if value == nil then value = redis.call('HGET', KEYS[1], field) end
  if value == ARGV[i + 1] then
    if now[field] == nil then order[#order + 1] = field end
    if ARGV[i + 2] == '' then now[field] = false; entries = entries - 1 else now[field] = ARGV[i + 2] end
    changed = changed + 1
  end
end
if entries == 0 then
  redis.call('DEL', KEYS[1])
  return changed
end
local sets, dels = {}, {}
for _, field in ipairs(order) do
  if now[field] then sets[#sets + 1] = field; sets[#sets + 1] = now[field] else dels[#dels + 1] = field end
end
local due = tonumber(ARGV[1])
if due and due > ${SWEEP_FIRST} then sets[#sets + 1] = 'm:sweep'; sets[#sets + 1] = tostring(due)
elseif due and sweep == 1 then dels[#dels + 1] = 'm:sweep' end
for i = 1, #sets, 2 * CHUNK do
  redis.call('HSET', KEYS[1], unpack(sets, i, math.min(i + 2 * CHUNK - 1, #sets)))
end
hdel_list(KEYS[1], dels, 1, #dels)
return changed
`,
  // It mostly frees memory (a logout's or a revoke's cleanup), so it runs while Redis is full.
  'allow-oom',
)
