-- A WebSocket of a process opened for the user: online at once (an away set by heartbeat stays away).
-- KEYS: user hash, online users zset, processes zset.
-- ARGV: user id, at, process id, hash ttl s.
-- Returns {previous status, status, last_seen, version}.
local key, online = KEYS[1], KEYS[2]
local s = load(key, KEYS[3], now_ms())
local at = tonumber(ARGV[2])
local prev = s.status
local status = prev
if prev == 'offline' then
  status = 'online'
  s.v = next_version(s.v, at)
end
s.last_seen = later(s.last_seen, at)
s.ws = later(s.ws, at)
redis.call('HINCRBY', key, 'c:' .. ARGV[3], 1)
redis.call('HSET', key, 'status', status, 'last_seen', n2s(s.last_seen), 'ws', n2s(s.ws), 'v', n2s(s.v))
redis.call('EXPIRE', key, ARGV[4])
redis.call('ZADD', online, 'GT', ARGV[2], ARGV[1])
return { prev, status, n2s(s.last_seen), n2s(s.v) }
