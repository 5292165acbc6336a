-- Writes a state learned while Redis was away. The later version wins: a change made during the outage (a
-- departure, an arrival) replaces what Redis held, devices included; an older one only moves the times
-- forward, never back. Socket counts are not restored: the caller counts its held sockets again under its new
-- process id. An offline learned here never replaces a user other processes still hold sockets for.
-- KEYS: user hash, online users zset, processes zset.
-- ARGV: user id, status, last_seen, last heartbeat (each time may be ''), hash ttl s, online score, version,
-- then a device id and its packed fields per device.
-- Returns 2 when the state was written (a change to announce), 1 when only times moved, 0 when nothing did.
local key = KEYS[1]
local s = load(key, KEYS[3], now_ms())
local version, mine = s.v, tonumber(ARGV[7])
local function later_field(field, current, value)
  if value ~= '' and tonumber(value) > (current or 0) then
    redis.call('HSET', key, field, value)
    return true
  end
  return false
end
local moved = later_field('last_seen', s.last_seen, ARGV[3])
moved = later_field('hb', s.hb, ARGV[4]) or moved
if mine > version and not (ARGV[2] == 'offline' and s.conns > 0) then
  for id in pairs(s.devices) do redis.call('HDEL', key, 'd:' .. id) end
  for i = 8, #ARGV - 1, 2 do redis.call('HSET', key, 'd:' .. ARGV[i], ARGV[i + 1]) end
  redis.call('HSET', key, 'status', ARGV[2], 'v', ARGV[7])
  redis.call('EXPIRE', key, ARGV[5])
  if ARGV[2] == 'offline' then
    redis.call('ZREM', KEYS[2], ARGV[1])
  else
    redis.call('ZADD', KEYS[2], 'GT', ARGV[6], ARGV[1])
  end
  return 2
end
if moved then
  redis.call('EXPIRE', key, ARGV[5])
  return 1
end
return 0
