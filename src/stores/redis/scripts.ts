import { createHash } from 'node:crypto'
import { MARKER_WINDOW_MS } from '../../core/store.js'

/**
 * A Lua script and its SHA-1, so the store can send `EVALSHA` first and fall back to `EVAL`.
 */
export interface Script {
  readonly name: string
  readonly source: string
  readonly sha: string
  /**
   * Whether running it twice leaves what running it once does, so a call whose connection dropped
   * before the reply (it may or may not have run) can be sent again. Only `renew` is not: a second
   * run would find the forwarding marker the first one left.
   */
  readonly replayable: boolean
}

/**
 * What the write scripts answer, as integers: `LIVE` (done), and when there is no live record, why:
 * a purge marker (`PURGED`), a forwarding marker (`FORWARDED`), or nothing of ours (`MISSING`).
 * `TAKEN` is renew's "the new key exists" (the caller retries with a new id).
 *
 * @example
 * ```ts
 * if (Number(reply) === REPLY.FORWARDED) return RENEWED
 * ```
 */
export const REPLY = { MISSING: 0, LIVE: 1, PURGED: 2, FORWARDED: 3, TAKEN: 4 } as const

// The `#!lua` line turns on Redis 7's script flags. While Redis is out of memory (maxmemory under
// noeviction), a script without `allow-oom` is refused whole before it starts, as a plain write
// would be (a script without the line is let through once it has written anything, so an apply
// that removes a key first could grow a full Redis). Delete and touch keep `allow-oom`: a logout,
// which only frees memory but writes a small purge marker even for an unknown id, and a request
// that only moves an expiry must keep working while Redis is full. `no-writes` marks a script
// that only reads (Redis then runs it under OOM too, and refuses it if it tried to write).
/**
 * Builds a {@link Script} from its body, the shared prelude and its flags.
 */
export function script(name: string, body: string, flags: 'allow-oom' | 'no-writes' | '' = '', replayable = true): Script {
  const source = `#!lua${flags === '' ? '' : ` flags=${flags}`}\n${PRELUDE}\n${body}`
  return { name, source, sha: createHash('sha1').update(source).digest('hex'), replayable }
}

// Hash layout: user keys live in fields `d:<key>` (JSON text), metadata in `m:created`, `m:abs`
// (absent for no absolute timeout), the owner of a filed session in `o:user`, `o:handle`, `o:seen`
// and `o:info` (see owner-codec.ts). Markers are hashes of one field living MARKER_WINDOW_MS under
// the key of the id they answer for: `m:fwd` (left by renew, holding the new record's Redis key) or
// `m:gone` (left by delete). No user key can reach an `m:` field.
//
// Every key a script touches is one of its KEYS: a key it computed itself could sit on another
// node while its slot migrates, and the script would fail after its first writes (Lua does not
// undo them). For the same reason no script makes one of its keys vanish (DEL, RENAME, HDEL of the
// last field) and then touches it again, except where a migrating slot cannot reach that command
// (renew's RENAME needs its new key absent: a migrating slot answers TRYAGAIN before it starts). Lua 5.1's unpack() fails past ~8,000 values, so HSET/HDEL go out in chunks.
// Expiry arithmetic uses the server's TIME (Redis 7 replicates script effects, so this is safe):
// the expiry is judged by one clock, Redis', whatever the app servers' clocks say.
const PRELUDE = `
local CHUNK = 1000
local MISSING, LIVE, PURGED, FORWARDED, TAKEN = ${REPLY.MISSING}, ${REPLY.LIVE}, ${REPLY.PURGED}, ${REPLY.FORWARDED}, ${REPLY.TAKEN}
local MARKER_WINDOW_MS = ${MARKER_WINDOW_MS}
local function hset_from(key, first)
  local batch = {}
  for i = first, #ARGV, 2 do
    batch[#batch + 1] = ARGV[i]
    batch[#batch + 1] = ARGV[i + 1]
    if #batch >= 2 * CHUNK then redis.call('HSET', key, unpack(batch)); batch = {} end
  end
  if #batch > 0 then redis.call('HSET', key, unpack(batch)) end
end
local function hdel_list(key, fields, first, last)
  local batch = {}
  for i = first, last do
    batch[#batch + 1] = fields[i]
    if #batch >= CHUNK then redis.call('HDEL', key, unpack(batch)); batch = {} end
  end
  if #batch > 0 then redis.call('HDEL', key, unpack(batch)) end
end
-- What a key holds: a record (LIVE), a purge or forwarding marker, or nothing of ours (MISSING:
-- absent, expired, or a value of another type).
local function state_of(key)
  local f = redis.pcall('HMGET', key, 'm:created', 'm:gone', 'm:fwd')
  if f.err then return MISSING end
  if f[1] then return LIVE end
  if f[2] then return PURGED end
  if f[3] then return FORWARDED end
  return MISSING
end
local function expire(key, ttl)
  local t = redis.call('TIME')
  local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
  local abs = tonumber(redis.call('HGET', key, 'm:abs') or '')
  if abs and abs < at then at = abs end
  redis.call('PEXPIREAT', key, string.format('%.0f', at))
end
-- LIVE, or, when the session's filing (owner and handle) differs from \`before\` (or \`always\` and it
-- is filed), { LIVE, user before, handle before, user after, handle after }, false for none: the
-- caller then updates the users' indexes, which live in other slots.
local function filing_reply(key, before, always)
  local after = redis.call('HMGET', key, 'o:user', 'o:handle')
  if before[1] == after[1] and before[2] == after[2] and not (always and after[1]) then return LIVE end
  return { LIVE, before[1], before[2], after[1], after[2] }
end
-- ARGV: ttl, clear ('1'/'0'), n, n fields to remove, then field/value pairs to set.
local function apply_changes(key)
  if ARGV[2] == '1' then
    local data = {}
    for _, f in ipairs(redis.call('HKEYS', key)) do
      if string.sub(f, 1, 2) == 'd:' then data[#data + 1] = f end
    end
    hdel_list(key, data, 1, #data)
  end
  local n = tonumber(ARGV[3])
  hdel_list(key, ARGV, 4, 3 + n)
  hset_from(key, 4 + n)
end
`

/**
 * `create`: KEYS[1] the new key; ARGV ttl, createdAt, absoluteExpiresAt or '', then field/value
 * pairs. HSET has no NX, so the EXISTS check inside the script is what makes create never overwrite.
 * Returns 1, or 0 when the key exists (the caller retries with a new id).
 */
export const CREATE = script(
  'create',
  `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'm:created', ARGV[2], 'm:abs', ARGV[3])
else
  redis.call('HSET', KEYS[1], 'm:created', ARGV[2])
end
hset_from(KEYS[1], 4)
expire(KEYS[1], tonumber(ARGV[1]))
return 1
`,
)

/**
 * `apply`: KEYS[1]; ARGV ttl, clear, n, removals, set pairs. Returns `LIVE` (an array when the
 * session's filing changed: see `filing_reply`), or why there is no record (`PURGED`, `FORWARDED`,
 * `MISSING`); it never creates anything.
 *
 * @example
 * ```ts
 * await send('EVALSHA', [APPLY.sha, '1', key, '60000', '0', '1', 'd:old', 'd:new', '2'])
 * ```
 */
export const APPLY = script(
  'apply',
  `
local state = state_of(KEYS[1])
if state ~= LIVE then return state end
local before = redis.call('HMGET', KEYS[1], 'o:user', 'o:handle')
apply_changes(KEYS[1])
expire(KEYS[1], tonumber(ARGV[1]))
return filing_reply(KEYS[1], before, false)
`,
)

/**
 * `touch`: KEYS[1]; ARGV ttl. Moves the expiry only. Answers as `apply`.
 *
 * @example
 * ```ts
 * await send('EVALSHA', [TOUCH.sha, '1', key, '60000'])
 * ```
 */
export const TOUCH = script(
  'touch',
  `
local state = state_of(KEYS[1])
if state ~= LIVE then return state end
expire(KEYS[1], tonumber(ARGV[1]))
return LIVE
`,
  'allow-oom',
)

/**
 * `take`: KEYS[1]; ARGV[1] the data field (`d:<key>`). Returns the field's JSON text and removes the
 * field, when the key holds a live record with that field; otherwise nil. The record keeps its
 * `m:created` field, so the HDEL never empties the hash. Not replayable: a second run after a
 * dropped reply would answer nil for a value the first run took.
 *
 * @example
 * ```ts
 * await send('EVALSHA', [TAKE.sha, '1', key, 'd:~flash:notice'])
 * ```
 */
export const TAKE = script(
  'take',
  `
if state_of(KEYS[1]) ~= LIVE then return false end
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value then return false end
redis.call('HDEL', KEYS[1], ARGV[1])
return value
`,
  '',
  false,
)

/**
 * `renew`: KEYS[1] old key, KEYS[2] new key (same hash tag, so the same slot); ARGV as `apply`.
 * Moves the record with RENAME (createdAt and the absolute cap travel with it), applies the changes,
 * and leaves under the old key a forwarding marker holding only the new key, for
 * `MARKER_WINDOW_MS`. The owner's fields travel with the hash. Returns `LIVE` (an array when the
 * session is filed before or after: its index entry must name the new key), `TAKEN` when the new
 * key exists (the caller retries with a new id), or why there is no record, as `apply`.
 *
 * @example
 * ```ts
 * await send('EVALSHA', [RENEW.sha, '2', oldKey, newKey, '60000', '0', '0'])
 * ```
 */
export const RENEW = script(
  'renew',
  `
local state = state_of(KEYS[1])
if state ~= LIVE then return state end
if redis.call('EXISTS', KEYS[2]) == 1 then return TAKEN end
redis.call('RENAME', KEYS[1], KEYS[2])
local before = redis.call('HMGET', KEYS[2], 'o:user', 'o:handle')
apply_changes(KEYS[2])
expire(KEYS[2], tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'm:fwd', KEYS[2])
redis.call('PEXPIRE', KEYS[1], MARKER_WINDOW_MS)
return filing_reply(KEYS[2], before, true)
`,
  '',
  false,
)

/**
 * How many characters end every session key: the SHA-256 of the id, base64url. A forwarding marker
 * is followed by these alone, so a key prefix a driver adds (ioredis' `keyPrefix`) never doubles.
 *
 * @example
 * ```ts
 * const hash = markerValue.slice(-HASH_CHARS)
 * ```
 */
export const HASH_CHARS = 43

/**
 * `delete`: KEYS the chain of ids to end, as far as the caller has followed it: KEYS[1] the id
 * given, each next key the one the forwarding marker before it names. It changes nothing until it
 * has seen the whole chain: while the last key (or any key, if the chain changed meanwhile) holds a
 * forwarding marker to a key it was not given, it returns `{ i, hash }` (the caller calls again with
 * KEYS[1..i] and the key ending in `hash`, which shares KEYS[i]'s prefix and hash tag, so its slot).
 * Once the chain ends (a record, a purge marker, nothing), it deletes every key of it and leaves a
 * purge marker on each, for `MARKER_WINDOW_MS`, and returns `LIVE`, or `{ 'filed', user, handle }`
 * when the record it ended was filed (the caller drops its index entry). A marker past its window
 * has expired with its key, so an older chain is never followed.
 *
 * With ARGV user and handle (a revoke), it ends the chain only if its record is filed under that
 * user with that handle, and otherwise changes nothing and returns `MISSING`: an index entry is only
 * a pointer, and the record says whose session it is.
 *
 * @example
 * ```ts
 * await send('EVALSHA', [DELETE.sha, '1', key])
 * ```
 */
export const DELETE = script(
  'delete',
  `
local HASH_CHARS = ${HASH_CHARS}
local function forward_hash(key)
  local fwd = redis.pcall('HGET', key, 'm:fwd')
  if type(fwd) ~= 'string' or #fwd < HASH_CHARS then return nil end
  local hash = string.sub(fwd, -HASH_CHARS)
  if not string.find(hash, '^[%w_%-]+$') then return nil end
  return hash
end
local last = 0
for i = 1, #KEYS do
  local hash = forward_hash(KEYS[i])
  if not hash then last = i; break end
  local key = KEYS[i]
  if KEYS[i + 1] ~= string.sub(key, 1, #key - HASH_CHARS) .. hash then return { i, hash } end
end
local owner = redis.pcall('HMGET', KEYS[last], 'o:user', 'o:handle')
if owner.err then owner = { false, false } end
if #ARGV >= 2 and (owner[1] ~= ARGV[1] or owner[2] ~= ARGV[2]) then return MISSING end
-- Each key becomes a purge marker in place: the marker field first, then every other field goes,
-- so the key never stops existing while the script still has commands for it. (In a slot that is
-- migrating, Redis redirects a command on a key this node does not hold, inside a script too, and
-- the script stops half-way.) A key of another type can only be replaced: that is done last.
local foreign = {}
for i = 1, last do
  local kind = redis.call('TYPE', KEYS[i]).ok
  if kind == 'hash' or kind == 'none' then
    redis.call('HSET', KEYS[i], 'm:gone', '1')
    local others = {}
    for _, f in ipairs(redis.call('HKEYS', KEYS[i])) do
      if f ~= 'm:gone' then others[#others + 1] = f end
    end
    hdel_list(KEYS[i], others, 1, #others)
    redis.call('PEXPIRE', KEYS[i], MARKER_WINDOW_MS)
  else
    foreign[#foreign + 1] = KEYS[i]
  end
end
for _, key in ipairs(foreign) do
  redis.call('DEL', key)
  redis.call('HSET', key, 'm:gone', '1')
  redis.call('PEXPIRE', key, MARKER_WINDOW_MS)
end
if owner[1] then return { 'filed', owner[1], owner[2] } end
return LIVE
`,
  'allow-oom',
)
