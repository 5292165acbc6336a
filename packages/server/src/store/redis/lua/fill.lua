-- Caches a durable record of a user with no hot state (cache-aside refill); never overwrites hot state.
-- KEYS: user hash.
-- ARGV: status, last_seen or '', last heartbeat or '', hash ttl s, version, then optionally a device id and
-- its packed fields (the record's status as one heartbeat device, so it ends by the rules).
-- Returns 1 when it wrote, 0 when hot state was there.
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'v', ARGV[5])
if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'last_seen', ARGV[2]) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'hb', ARGV[3]) end
if ARGV[6] then redis.call('HSET', KEYS[1], 'd:' .. ARGV[6], ARGV[7]) end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
