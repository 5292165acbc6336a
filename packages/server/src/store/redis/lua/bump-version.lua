-- A change of what others may see (a privacy setting) that leaves the presence as it is: a new version only,
-- so the announcement of it outranks every frame sent before.
-- KEYS: user hash, processes zset.
-- ARGV: at, hash ttl s.
-- Returns {status, last_seen, version, clients, custom status or ''}.
local s = load(KEYS[1], KEYS[2], now_ms())
s.v = next_version(s.v, tonumber(ARGV[1]))
save(KEYS[1], s, ARGV[2])
return { s.status, s_opt(s.last_seen), n2s(s.v), s.cl, cu_of(s) }
