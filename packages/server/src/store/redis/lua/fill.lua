-- Caches a durable record of a user with no hot state (cache-aside refill); never overwrites hot state.
-- KEYS: user hash, custom due zset of the user's shard.
-- ARGV: user id, status, last_seen or '', last heartbeat or '', hash ttl s, version, custom status or '', its
-- expiry or '', then optionally a device id and its packed fields (the record's status as one heartbeat
-- device, so it ends by the rules).
-- Returns 1 when it wrote, 0 when hot state was there.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'v', ARGV[6])
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'last_seen', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'hb', ARGV[4]) end
if ARGV[9] then redis.call('HSET', KEYS[1], 'd:' .. ARGV[9], ARGV[10]) end
if ARGV[7] ~= '' then
  -- The custom status the durable record kept: the hash holds it until it expires or is cleared.
  redis.call('HSET', KEYS[1], 'cu', ARGV[7])
  if ARGV[8] ~= '' then redis.call('ZADD', KEYS[2], ARGV[8], ARGV[1]) end
else
  redis.call('EXPIRE', KEYS[1], ARGV[5])
end
return 1
