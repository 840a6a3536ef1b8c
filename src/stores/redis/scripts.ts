import { createHash } from 'node:crypto'

/**
 * A Lua script and its SHA-1, so the store can send `EVALSHA` first and fall back to `EVAL`.
 */
export interface Script {
  readonly name: string
  readonly source: string
  readonly sha: string
}

function script(name: string, body: string): Script {
  const source = `${PRELUDE}\n${body}`
  return { name, source, sha: createHash('sha1').update(source).digest('hex') }
}

/** How long the forwarding marker a renew leaves under the old key lives, in ms. */
export const FORWARD_TTL_MS = 60_000

// Hash layout: user keys live in fields `d:<key>` (JSON text), metadata in `m:created`, `m:abs`
// (absent for no absolute timeout) and `m:fwd` (a forwarding marker holding the renewed record's
// Redis key; a marker hash holds nothing else). No user key can reach an `m:` field.
//
// Lua 5.1's unpack() fails past ~8,000 values, so HSET/HDEL go out in chunks.
// Expiry arithmetic uses the server's TIME (Redis 7 replicates script effects, so this is safe):
// the expiry is judged by one clock, Redis', whatever the app servers' clocks say.
const PRELUDE = `
local CHUNK = 1000
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
local function is_record(key)
  local r = redis.pcall('HEXISTS', key, 'm:created')
  return r == 1
end
local function expire(key, ttl)
  local t = redis.call('TIME')
  local at = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
  local abs = tonumber(redis.call('HGET', key, 'm:abs') or '')
  if abs and abs < at then at = abs end
  redis.call('PEXPIREAT', key, string.format('%.0f', at))
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
 * `apply`: KEYS[1]; ARGV ttl, clear, n, removals, set pairs. Returns 1, or 0 (GONE) when the
 * record is missing, expired, a forwarding marker or not ours; it never creates anything.
 */
export const APPLY = script(
  'apply',
  `
if not is_record(KEYS[1]) then return 0 end
apply_changes(KEYS[1])
expire(KEYS[1], tonumber(ARGV[1]))
return 1
`,
)

/**
 * `touch`: KEYS[1]; ARGV ttl. Moves the expiry only. Returns 1, or 0 (GONE).
 */
export const TOUCH = script(
  'touch',
  `
if not is_record(KEYS[1]) then return 0 end
expire(KEYS[1], tonumber(ARGV[1]))
return 1
`,
)

/**
 * `renew`: KEYS[1] old key, KEYS[2] new key (same hash tag, so the same slot); ARGV as `apply`.
 * Moves the record with RENAME (createdAt and the absolute cap travel with it), applies the changes,
 * and leaves under the old key a marker holding only the new key, for {@link FORWARD_TTL_MS}.
 * Returns 1, 0 (GONE) or -1 when the new key is taken (the caller retries with a new id).
 */
export const RENEW = script(
  'renew',
  `
if not is_record(KEYS[1]) then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return -1 end
redis.call('RENAME', KEYS[1], KEYS[2])
apply_changes(KEYS[2])
expire(KEYS[2], tonumber(ARGV[1]))
redis.call('HSET', KEYS[1], 'm:fwd', KEYS[2])
redis.call('PEXPIRE', KEYS[1], ${FORWARD_TTL_MS})
return 1
`,
)

/**
 * `delete`: KEYS[1]. Deletes the key and follows forwarding markers (a few hops, for renews in
 * quick succession), so a purge right after a renew still ends the session. The marker's target
 * shares the hash tag, so it lives in the same slot. Always returns 1.
 */
export const DELETE = script(
  'delete',
  `
local key = KEYS[1]
for _ = 1, 16 do
  local fwd = redis.pcall('HGET', key, 'm:fwd')
  redis.call('DEL', key)
  if type(fwd) ~= 'string' then return 1 end
  key = fwd
end
return 1
`,
)
