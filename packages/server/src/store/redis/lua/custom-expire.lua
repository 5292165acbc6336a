-- Compare-and-remove: removes the user's custom status when its expiry is at or before `at`, with a new
-- version, so exactly one caller (one process) announces it. The user leaves the custom due set unless a
-- status with a later expiry replaced the one that was due.
-- KEYS: user hash, processes zset, custom due zset (of the user's shard).
-- ARGV: user id, at, hash ttl s.
-- Returns {2} when the hash is gone (the caller refills it from the durable record and asks again); {0, its
-- expiry or ''} when nothing was due; {1, status, last_seen, version, clients} when this call removed it.
local key, due, at = KEYS[1], KEYS[3], tonumber(ARGV[2])
if redis.call('EXISTS', key) == 0 then return { 2 } end
local s = load(key, KEYS[2], now_ms())
local expires = nil
if s.cu then
  local ok, custom = pcall(cjson.decode, s.cu)
  if ok and type(custom) == 'table' and type(custom.expires_at) == 'number' then expires = custom.expires_at end
end
if expires == nil then
  redis.call('ZREM', due, ARGV[1])
  return { 0, '' }
end
if expires > at then
  redis.call('ZADD', due, n2s(expires), ARGV[1])
  return { 0, n2s(expires) }
end
s.cu = nil
s.v = next_version(s.v, at)
save(key, s, ARGV[3])
redis.call('ZREM', due, ARGV[1])
return { 1, s.status, s_opt(s.last_seen), n2s(s.v), s.cl }
