-- A WebSocket of a process closed for a device of the user. Never a transition by itself: the device ends
-- from expire after the grace.
-- KEYS: user hash, online users zset, processes zset.
-- ARGV: user id, at, process id, hash ttl s, timeout ms, grace ms, '1' when the client closed it (its last
-- activity) or '0' when it was cut for not answering (last_seen stays at its last answer), device id.
-- Returns the deadline to look again, or '' while every live device is held.
local key = KEYS[1]
local s = load(key, KEYS[3], now_ms())
local at, id = tonumber(ARGV[2]), ARGV[8]
local field = 'c:' .. ARGV[3] .. ':' .. id
local left = redis.call('HINCRBY', key, field, -1)
if left <= 0 then redis.call('HDEL', key, field) end
local d = s.devices[id]
if d then
  if left >= 0 and d.conns > 0 then d.conns = d.conns - 1 end
  d.ws = later(d.ws, at)
  d.dc = later(d.dc, at)
  put_device(s, id, d)
end
if ARGV[7] == '1' then s.last_seen = later(s.last_seen, at) end
save(key, s, ARGV[4])
if s.status ~= 'offline' then redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[1]) end
local dl = deadline(s, tonumber(ARGV[5]), tonumber(ARGV[6]))
return dl and n2s(dl) or ''
