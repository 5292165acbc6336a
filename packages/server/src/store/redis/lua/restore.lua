-- Writes a state learned while Redis was away, unless Redis saw the user more recently. Socket counts are
-- not restored: the caller connects its held sockets again under its new process id.
-- KEYS: user hash, online users zset.
-- ARGV: user id, status, last_seen, last heartbeat, last socket liveness, last clean close (each time may be
-- ''), hash ttl s, online score, version.
-- Returns 1 when it wrote, 0 when Redis's state was newer.
local key = KEYS[1]
local seen = tonumber(redis.call('HGET', key, 'last_seen') or '0')
local mine = tonumber(ARGV[3]) or 0
if seen > mine then return 0 end
local version = math.max(tonumber(redis.call('HGET', key, 'v') or '0'), tonumber(ARGV[9]))
redis.call('HSET', key, 'status', ARGV[2], 'v', string.format('%d', version))
if ARGV[3] ~= '' then redis.call('HSET', key, 'last_seen', ARGV[3]) end
if ARGV[4] ~= '' then redis.call('HSET', key, 'hb', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', key, 'ws', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', key, 'dc', ARGV[6]) end
redis.call('EXPIRE', key, ARGV[7])
if ARGV[2] == 'offline' then
  redis.call('ZREM', KEYS[2], ARGV[1])
else
  redis.call('ZADD', KEYS[2], 'GT', ARGV[8], ARGV[1])
end
return 1
