-- A WebSocket of a process closed for the user.
-- KEYS: user hash, online users zset, processes zset.
-- ARGV: user id, at, process id, hash ttl s, timeout ms, grace ms, '1' when the client closed it (its last
-- activity) or '0' when it was cut for not answering (last_seen stays at its last answer).
-- Returns the deadline to check for offline, or '' while another socket holds the user online.
local key = KEYS[1]
local s = load(key, KEYS[3], now_ms())
local at = tonumber(ARGV[2])
local field = 'c:' .. ARGV[3]
local left = redis.call('HINCRBY', key, field, -1)
if left <= 0 then redis.call('HDEL', key, field) end
if left >= 0 and s.conns > 0 then s.conns = s.conns - 1 end
if ARGV[7] == '1' then
  s.last_seen = later(s.last_seen, at)
  redis.call('HSET', key, 'last_seen', n2s(s.last_seen))
end
s.ws = later(s.ws, at)
s.dc = later(s.dc, at)
redis.call('HSET', key, 'ws', n2s(s.ws), 'dc', n2s(s.dc))
if not s.exists then redis.call('HSET', key, 'status', 'offline') end
redis.call('EXPIRE', key, ARGV[4])
if s.status ~= 'offline' then redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1]) end
local d = deadline(s, tonumber(ARGV[5]), tonumber(ARGV[6]))
return d and n2s(d) or ''
