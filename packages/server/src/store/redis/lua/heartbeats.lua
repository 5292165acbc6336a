-- Heartbeats of many users in one call: one round trip and one command per batch, not per user.
-- KEYS: online users zset, processes zset, then the hash of each user in ARGV's order (a user may repeat).
-- ARGV: at, min interval ms, hash ttl s, timeout ms, grace ms, then a user id and claimed status per user.
-- Returns five slots per user: {0, retry after ms, '', '', ''} when refused as unchanged and too soon, else
-- {1, previous status, last_seen, deadline or '', version}.
local online, processes = KEYS[1], KEYS[2]
local at, min = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl, timeout, grace = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
local out = {}
for u = 1, #KEYS - 2 do
  local key, uid, claimed = KEYS[u + 2], ARGV[4 + 2 * u], ARGV[5 + 2 * u]
  local s = load(key, processes, now)
  local refused = false
  if claimed == s.status and s.hb then
    local elapsed = at - s.hb
    if elapsed < min then
      refused = true
      out[#out + 1] = 0
      out[#out + 1] = n2s(min - math.max(0, elapsed))
      out[#out + 1] = ''
      out[#out + 1] = ''
      out[#out + 1] = ''
    end
  end
  if not refused then
    local prev = s.status
    s.status = claimed
    s.last_seen = later(s.last_seen, at)
    s.hb = later(s.hb, at)
    if claimed ~= prev then s.v = next_version(s.v, at) end
    redis.call('HSET', key, 'status', claimed, 'last_seen', n2s(s.last_seen), 'hb', n2s(s.hb), 'v', n2s(s.v))
    redis.call('EXPIRE', key, ttl)
    if claimed == 'offline' then
      redis.call('ZREM', online, uid)
    else
      redis.call('ZADD', online, 'GT', ARGV[1], uid)
    end
    local d = deadline(s, timeout, grace)
    out[#out + 1] = 1
    out[#out + 1] = prev
    out[#out + 1] = n2s(s.last_seen)
    out[#out + 1] = d and n2s(d) or ''
    out[#out + 1] = n2s(s.v)
  end
end
return out
