-- A status chosen over an open WebSocket for its device: a sign of socket life, not a heartbeat.
-- KEYS: user hash, online users zset, processes zset.
-- ARGV: user id, status, at, hash ttl s, device id, device kind (for a device that had ended).
-- Returns {1 when it changed status or clients else 0, previous status, last_seen, version, status, clients,
-- custom status or ''}.
local key = KEYS[1]
local s = load(key, KEYS[3], now_ms())
local at, id = tonumber(ARGV[3]), ARGV[5]
local prev = s.status
local d = s.devices[id] or blank_device(ARGV[6] or 'web')
d.status = ARGV[2]
d.ws = later(d.ws, at)
put_device(s, id, d)
s.last_seen = later(s.last_seen, at)
local changed = settle(s, at)
save(key, s, ARGV[4])
redis.call('ZADD', KEYS[2], 'GT', ARGV[3], ARGV[1])
return { changed and 1 or 0, prev, n2s(s.last_seen), n2s(s.v), s.status, s.cl, cu_of(s) }
