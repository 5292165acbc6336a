-- A status chosen over an open WebSocket: a sign of socket life, not a heartbeat.
-- KEYS: user hash, online users zset.
-- ARGV: user id, status, at, hash ttl s.
-- Returns {previous status, last_seen, version}.
local key = KEYS[1]
local prev = redis.call('HGET', key, 'status') or 'offline'
local at = tonumber(ARGV[3])
local f = redis.call('HMGET', key, 'last_seen', 'ws', 'v')
local seen, ws, version = tonumber(f[1]) or 0, tonumber(f[2]) or 0, tonumber(f[3]) or 0
if ARGV[2] ~= prev then version = next_version(version, at) end
if at > seen then seen = at end
if at > ws then ws = at end
redis.call('HSET', key, 'status', ARGV[2], 'last_seen', n2s(seen), 'ws', n2s(ws), 'v', n2s(version))
redis.call('EXPIRE', key, ARGV[4])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[1])
return { prev, n2s(seen), n2s(version) }
