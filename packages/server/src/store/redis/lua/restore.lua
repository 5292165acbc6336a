-- Writes a state learned while Redis was away. The later version wins: a change made during the outage (a
-- departure, an arrival) replaces what Redis held for the devices this process knew; an older one only moves
-- the times forward, never back. Devices the state does not name stay as Redis holds them when another live
-- process holds sockets for them (a tab open elsewhere); the status, clients and version are then derived from
-- the devices, as every other script does. Socket counts are not restored: the caller counts its held sockets
-- again under its process id. An offline learned here never replaces a user other processes hold sockets for.
-- The custom status goes with the later version too.
-- KEYS: user hash, online users zset, processes zset, custom due zset.
-- ARGV: user id, status, last_seen, last heartbeat (each time may be ''), hash ttl s, online score, version,
-- this process's id, custom status or '', its expiry or '', then a device id and its packed fields per device.
-- Returns 2 when the state was written (a change to announce), 1 when only times moved, 0 when nothing did.
local key = KEYS[1]
local now = now_ms()
local s = load(key, KEYS[3], now)
local version, mine, process = s.v, tonumber(ARGV[7]), ARGV[8]
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
  if ARGV[3] ~= '' then s.last_seen = later(s.last_seen, tonumber(ARGV[3])) end
  if ARGV[4] ~= '' then s.hb = later(s.hb, tonumber(ARGV[4])) end
  local named, learned = {}, {}
  for i = 11, #ARGV - 1, 2 do
    local id, d = ARGV[i], parse_device(ARGV[i + 1])
    named[id] = true
    learned[id] = d
    local held = s.devices[id]
    local copy = parse_device(ARGV[i + 1])
    copy.conns = held and held.conns or 0
    put_device(s, id, copy)
  end
  for id, d in pairs(s.devices) do
    if not named[id] then
      local own = tonumber(redis.call('HGET', key, 'c:' .. process .. ':' .. id) or '0') or 0
      if d.conns - own <= 0 then
        s.devices[id] = nil
        s.dirty[id] = true
      end
    end
  end
  if next(s.devices) == nil then
    -- No device on either side (a state from before devices): the status as learned.
    s.cl, s.status = '', ARGV[2]
  else
    s.cl = clients_key(s.devices)
    s.status = status_of(s.cl)
  end
  -- The version the outage gave the change when Redis now holds what this process announced then; a newer one
  -- when devices held elsewhere make it come out otherwise, so this process's watchers take the correction.
  if s.status == ARGV[2] and s.cl == clients_key(learned) then s.v = mine else s.v = next_version(mine, now) end
  if ARGV[9] == '' then s.cu = nil else s.cu = ARGV[9] end
  if ARGV[10] == '' then redis.call('ZREM', KEYS[4], ARGV[1]) else redis.call('ZADD', KEYS[4], ARGV[10], ARGV[1]) end
  save(key, s, ARGV[5])
  if s.status == 'offline' then
    redis.call('ZREM', KEYS[2], ARGV[1])
  else
    redis.call('ZADD', KEYS[2], 'GT', ARGV[6], ARGV[1])
  end
  return 2
end
if moved then
  keep(key, s, ARGV[5])
  return 1
end
return 0
