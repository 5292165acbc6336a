-- Writes a state learned while Redis was away. The later version wins: a change made during the outage (a
-- departure, an arrival) replaces what Redis held; an older one only moves the times forward, never back.
-- Socket counts are not restored: the caller counts its held sockets again under its new process id. An
-- offline learned here never replaces a user other processes still hold sockets for: only the times move.
-- KEYS: user hash, online users zset, processes zset.
-- ARGV: user id, status, last_seen, last heartbeat, last socket liveness, last clean close (each time may be
-- ''), hash ttl s, online score, version.
-- Returns 2 when the state was written (a change to announce), 1 when only times moved, 0 when nothing did.
local key = KEYS[1]
local held_elsewhere = load(key, KEYS[3], now_ms()).conns > 0
local f = redis.call('HMGET', key, 'v', 'last_seen', 'hb', 'ws', 'dc')
local version, mine = tonumber(f[1]) or 0, tonumber(ARGV[9])
local function later_field(field, current, value)
  if value ~= '' and tonumber(value) > (tonumber(current) or 0) then
    redis.call('HSET', key, field, value)
    return true
  end
  return false
end
local moved = later_field('last_seen', f[2], ARGV[3])
moved = later_field('hb', f[3], ARGV[4]) or moved
moved = later_field('ws', f[4], ARGV[5]) or moved
moved = later_field('dc', f[5], ARGV[6]) or moved
if mine > version and not (ARGV[2] == 'offline' and held_elsewhere) then
  redis.call('HSET', key, 'status', ARGV[2], 'v', ARGV[9])
  redis.call('EXPIRE', key, ARGV[7])
  if ARGV[2] == 'offline' then
    redis.call('ZREM', KEYS[2], ARGV[1])
  else
    redis.call('ZADD', KEYS[2], 'GT', ARGV[8], ARGV[1])
  end
  return 2
end
if moved then
  redis.call('EXPIRE', key, ARGV[7])
  return 1
end
return 0
