-- A status chosen over an open WebSocket: a sign of socket life, not a heartbeat.
-- KEYS: user hash, online users zset.
-- ARGV: user id, status, at, hash ttl s.
-- Returns {previous status, last_seen}.
local key = KEYS[1]
local prev = redis.call('HGET', key, 'status') or 'offline'
local at = tonumber(ARGV[3])
local v = redis.call('HMGET', key, 'last_seen', 'ws')
local seen, ws = tonumber(v[1]) or 0, tonumber(v[2]) or 0
if at > seen then seen = at end
if at > ws then ws = at end
redis.call('HSET', key, 'status', ARGV[2], 'last_seen', n2s(seen), 'ws', n2s(ws))
redis.call('EXPIRE', key, ARGV[4])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[1])
return { prev, n2s(seen) }
