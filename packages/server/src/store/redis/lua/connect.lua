-- A WebSocket of a process opened for a device of the user: the device is online at once (an away it had
-- stays away), and so is the user unless another device is more available.
-- KEYS: user hash, online users zset, processes zset.
-- ARGV: user id, at, process id, hash ttl s, device id, client kind, timeout ms, grace ms.
-- Returns {1 when it changed status or clients else 0, previous status, status, last_seen, version, clients, deadline of the other devices or '', custom status or ''}.
local key, online = KEYS[1], KEYS[2]
local s = load(key, KEYS[3], now_ms())
local at, id, kind = tonumber(ARGV[2]), ARGV[5], ARGV[6]
local prev = s.status
local d = s.devices[id] or blank_device(kind)
d.kind = kind
if d.status == 'offline' then d.status = 'online' end
d.conns = d.conns + 1
d.ws = later(d.ws, at)
redis.call('HINCRBY', key, 'c:' .. ARGV[3] .. ':' .. id, 1)
put_device(s, id, d)
s.last_seen = later(s.last_seen, at)
local changed = settle(s, at)
save(key, s, ARGV[4])
redis.call('ZADD', online, 'GT', ARGV[2], ARGV[1])
local dl = deadline(s, tonumber(ARGV[7]), tonumber(ARGV[8]))
return { changed and 1 or 0, prev, s.status, n2s(s.last_seen), n2s(s.v), s.cl, dl and n2s(dl) or '', cu_of(s) }
