/**
 * Lua for the Redis store. Each script is one atomic decision by the rules of core/rules.ts, written again in
 * Lua because Redis runs nothing else; the store conformance suite holds this copy and the TypeScript one to
 * the same behaviour. Hash fields of `presence:user:{id}`: status, last_seen, typing_in (the contract's),
 * hb (last heartbeat), ws (last WebSocket liveness), dc (last clean close), held ('1' after a heartbeat
 * said offline) and c:{process} (open WebSockets per process; counted only while `presence:process:{process}`
 * exists, so a dead process's sockets stop counting when its key expires).
 */

const PRELUDE = `
local function n2s(n) return string.format('%d', n) end
local function later(a, b) if a == nil or b > a then return b end return a end
local function load(key, prefix)
  local raw = redis.call('HGETALL', key)
  local s = { status = 'offline', conns = 0, held = false, exists = #raw > 0 }
  for i = 1, #raw, 2 do
    local f, v = raw[i], raw[i + 1]
    if f == 'status' then s.status = v
    elseif f == 'last_seen' then s.last_seen = tonumber(v)
    elseif f == 'hb' then s.hb = tonumber(v)
    elseif f == 'ws' then s.ws = tonumber(v)
    elseif f == 'dc' then s.dc = tonumber(v)
    elseif f == 'held' then s.held = (v == '1')
    elseif f == 'typing_in' then s.typing_in = v
    elseif string.sub(f, 1, 2) == 'c:' then
      local n = tonumber(v) or 0
      if n > 0 and redis.call('EXISTS', prefix .. 'presence:process:' .. string.sub(f, 3)) == 1 then
        s.conns = s.conns + n
      else
        redis.call('HDEL', key, f)
      end
    end
  end
  return s
end
local function deadline(s, timeout, grace)
  if s.status == 'offline' or s.conns > 0 then return nil end
  local due = nil
  if s.hb then due = s.hb + timeout end
  if s.ws then
    local sd
    if s.dc == nil or s.ws > s.dc then sd = s.ws + timeout else sd = s.dc + grace end
    due = later(due, sd)
  end
  if due == nil then due = (s.last_seen or 0) + timeout end
  return due
end
local function stop_typing(prefix, uid, cid)
  local removed = redis.call('ZREM', prefix .. 'presence:typing:' .. cid, uid)
  redis.call('ZREM', prefix .. 'presence:typing_due', uid .. ':' .. cid)
  return removed
end
`;

/**
 * Heartbeats of many users in one call (one round trip and one command to build per batch, not per user).
 * KEYS: online zset. ARGV: prefix, at, min interval, ttl s, timeout, grace, then uid, status pairs.
 * Returns four slots per user: {0, retry after ms, '', ''} when refused as unchanged and too soon, else
 * {1, previous status, last_seen, deadline or ''}.
 */
export const HEARTBEATS = `${PRELUDE}
local prefix, at, min = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local ttl, timeout, grace = ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local out = {}
for i = 7, #ARGV, 2 do
  local uid, claimed = ARGV[i], ARGV[i + 1]
  local key = prefix .. 'presence:user:' .. uid
  local s = load(key, prefix)
  local refused = false
  if claimed == s.status and s.hb then
    local elapsed = at - s.hb
    if elapsed < min then
      refused = true
      out[#out + 1] = 0
      out[#out + 1] = n2s(min - math.max(0, elapsed))
      out[#out + 1] = ''
      out[#out + 1] = ''
    end
  end
  if not refused then
    local prev = s.status
    s.status = claimed
    s.last_seen = later(s.last_seen, at)
    s.hb = later(s.hb, at)
    s.held = claimed == 'offline'
    redis.call('HSET', key, 'status', claimed, 'last_seen', n2s(s.last_seen), 'hb', n2s(s.hb), 'held', s.held and '1' or '0')
    redis.call('EXPIRE', key, ttl)
    if claimed == 'offline' then
      redis.call('ZREM', KEYS[1], uid)
    else
      redis.call('ZADD', KEYS[1], 'GT', ARGV[2], uid)
    end
    local d = deadline(s, timeout, grace)
    out[#out + 1] = 1
    out[#out + 1] = prev
    out[#out + 1] = n2s(s.last_seen)
    out[#out + 1] = d and n2s(d) or ''
  end
end
return out`;

/** KEYS: user hash, online zset. ARGV: uid, at, process, ttl s, prefix. */
export const CONNECT = `${PRELUDE}
local s = load(KEYS[1], ARGV[5])
local at = tonumber(ARGV[2])
local prev = s.status
local status = prev
if prev == 'offline' then status = 'online' end
s.last_seen = later(s.last_seen, at)
s.ws = later(s.ws, at)
redis.call('HINCRBY', KEYS[1], 'c:' .. ARGV[3], 1)
redis.call('HSET', KEYS[1], 'status', status, 'last_seen', n2s(s.last_seen), 'ws', n2s(s.ws), 'held', '0')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1])
return { prev, status, n2s(s.last_seen) }`;

/** KEYS: user hash, online zset. ARGV: uid, status, at, ttl s. */
export const SET_STATUS = `
local prev = redis.call('HGET', KEYS[1], 'status') or 'offline'
local at = tonumber(ARGV[3])
local v = redis.call('HMGET', KEYS[1], 'last_seen', 'ws')
local seen, ws = tonumber(v[1]) or 0, tonumber(v[2]) or 0
if at > seen then seen = at end
if at > ws then ws = at end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'last_seen', string.format('%d', seen), 'ws', string.format('%d', ws), 'held', '0')
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[1])
return { prev, string.format('%d', seen) }`;

/** KEYS: user hash, online zset. ARGV: uid, at, process, ttl s, prefix, timeout, grace. */
export const DISCONNECT = `${PRELUDE}
local s = load(KEYS[1], ARGV[5])
local at = tonumber(ARGV[2])
local field = 'c:' .. ARGV[3]
local left = redis.call('HINCRBY', KEYS[1], field, -1)
if left <= 0 then redis.call('HDEL', KEYS[1], field) end
if left >= 0 and s.conns > 0 then s.conns = s.conns - 1 end
s.last_seen = later(s.last_seen, at)
s.ws = later(s.ws, at)
s.dc = later(s.dc, at)
redis.call('HSET', KEYS[1], 'last_seen', n2s(s.last_seen), 'ws', n2s(s.ws), 'dc', n2s(s.dc))
if not s.exists then redis.call('HSET', KEYS[1], 'status', 'offline') end
redis.call('EXPIRE', KEYS[1], ARGV[4])
if s.status ~= 'offline' then redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1]) end
local d = deadline(s, tonumber(ARGV[6]), tonumber(ARGV[7]))
return d and n2s(d) or ''`;

/** KEYS: online zset, this process's key. ARGV: at, ttl s, prefix, process ttl ms, uid… */
export const TOUCH = `
local at = tonumber(ARGV[1])
redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
for i = 5, #ARGV do
  local key = ARGV[3] .. 'presence:user:' .. ARGV[i]
  local v = redis.call('HMGET', key, 'status', 'last_seen', 'ws')
  if v[1] and v[1] ~= 'offline' then
    local seen, ws = tonumber(v[2]) or 0, tonumber(v[3]) or 0
    if at > seen then seen = at end
    if at > ws then ws = at end
    redis.call('HSET', key, 'last_seen', string.format('%d', seen), 'ws', string.format('%d', ws))
    redis.call('EXPIRE', key, ARGV[2])
    redis.call('ZADD', KEYS[1], 'GT', ARGV[1], ARGV[i])
  end
end
return 1`;

/**
 * Compare-and-remove. KEYS: user hash, online zset. ARGV: uid, at, timeout, grace, prefix, ttl s.
 * Returns {1, previous status, last_seen, typing conversation or ''} when this call took the user offline,
 * {0, deadline or ''} otherwise.
 */
export const EXPIRE = `${PRELUDE}
local s = load(KEYS[1], ARGV[5])
if not s.exists then
  local score = redis.call('ZSCORE', KEYS[2], ARGV[1])
  if score then
    redis.call('ZREM', KEYS[2], ARGV[1])
    return { 1, 'online', score, '' }
  end
  return { 0, '' }
end
if s.status == 'offline' then
  redis.call('ZREM', KEYS[2], ARGV[1])
  return { 0, '' }
end
local d = deadline(s, tonumber(ARGV[3]), tonumber(ARGV[4]))
if d == nil or d > tonumber(ARGV[2]) then return { 0, d and n2s(d) or '' } end
redis.call('HSET', KEYS[1], 'status', 'offline', 'held', '0')
redis.call('EXPIRE', KEYS[1], ARGV[6])
redis.call('ZREM', KEYS[2], ARGV[1])
local typing = ''
if s.typing_in then
  if stop_typing(ARGV[5], ARGV[1], s.typing_in) == 1 then typing = s.typing_in end
  redis.call('HDEL', KEYS[1], 'typing_in')
end
return { 1, s.status, n2s(s.last_seen or 0), typing }`;

/** KEYS: user hash. ARGV: status, last_seen, hb, ttl s. Writes only when there is no hot state. */
export const FILL = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'last_seen', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'hb', ARGV[3]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1`;

/** KEYS: typing zset, due index, user hash. ARGV: uid, cid, at, ttl ms, hash ttl s. Returns 1 to announce. */
export const TYPING_START = `
local at, ttl = tonumber(ARGV[3]), tonumber(ARGV[4])
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
local announce = (not expiry) or tonumber(expiry) <= at
local due = string.format('%d', at + ttl)
redis.call('ZADD', KEYS[1], due, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('ZADD', KEYS[2], due, ARGV[1] .. ':' .. ARGV[2])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'typing_in', ARGV[2]) end
if announce then return 1 end
return 0`;

/** KEYS: typing zset, due index, user hash. ARGV: uid, cid, at ('' to stop regardless of expiry). */
export const TYPING_STOP = `
if ARGV[3] ~= '' then
  local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
  if expiry and tonumber(expiry) > tonumber(ARGV[3]) then return 0 end
end
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1] .. ':' .. ARGV[2])
if redis.call('HGET', KEYS[3], 'typing_in') == ARGV[2] then redis.call('HDEL', KEYS[3], 'typing_in') end
return removed`;

/** KEYS: lease key. ARGV: holder, ttl ms. */
export const LEASE_ACQUIRE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;

/** KEYS: lease key. ARGV: holder. */
export const LEASE_RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/**
 * KEYS: user hash, online zset. ARGV: uid, status, last_seen, hb, ws, dc, process, ttl s, score.
 * Keeps Redis's state when it saw the user more recently than the local state being restored.
 */
export const RESTORE = `
local seen = tonumber(redis.call('HGET', KEYS[1], 'last_seen') or '0')
local mine = tonumber(ARGV[3]) or 0
if seen > mine then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'held', '0')
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'last_seen', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'hb', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'ws', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'dc', ARGV[6]) end
redis.call('EXPIRE', KEYS[1], ARGV[8])
if ARGV[2] == 'offline' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], 'GT', ARGV[9], ARGV[1])
end
return 1`;
