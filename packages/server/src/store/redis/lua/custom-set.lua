-- Sets or clears the user's custom status: a change (a new version) when it differs from the one held. The
-- custom due set holds the user while the status has an expiry, for the sweep that announces it.
-- KEYS: user hash, processes zset, custom due zset (of the user's shard).
-- ARGV: user id, at, hash ttl s, custom status or '' to clear, its expiry or ''.
-- Returns {1 when it changed else 0, status, last_seen, version, clients, custom status or ''}.
local key, due = KEYS[1], KEYS[3]
local s = load(key, KEYS[2], now_ms())
local changed = (s.cu or '') ~= ARGV[4]
if changed then
  if ARGV[4] == '' then s.cu = nil else s.cu = ARGV[4] end
  s.v = next_version(s.v, tonumber(ARGV[2]))
  save(key, s, ARGV[3])
  if ARGV[5] == '' then redis.call('ZREM', due, ARGV[1]) else redis.call('ZADD', due, ARGV[5], ARGV[1]) end
end
return { changed and 1 or 0, s.status, s_opt(s.last_seen), n2s(s.v), s.cl, cu_of(s) }
