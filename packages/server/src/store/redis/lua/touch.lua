-- The periodic refresh of a process: keeps the process alive, states how many sockets it holds per device,
-- and keeps those devices fresh. Stating the counts (not adding to them) heals what a stall cost: when this
-- process's entry ran out, other scripts dropped its counts, and this refresh puts them back as they are.
-- Devices that ended stay ended: only a new socket or heartbeat brings them back.
-- KEYS: online users zset, processes zset, then the hash of each user in ARGV's order.
-- ARGV: at, hash ttl s, process id, process ttl ms, timeout ms, grace ms, then a user id, device id and open
-- socket count per held device.
-- Returns the users with a device past its deadline (a heartbeat device nobody else watches), to expire.
local at = tonumber(ARGV[1])
local timeout, grace = tonumber(ARGV[5]), tonumber(ARGV[6])
keep_alive(KEYS[2], ARGV[3], tonumber(ARGV[4]))
local now = now_ms()
local due = {}
for i = 3, #KEYS do
  local key, base = KEYS[i], 6 + 3 * (i - 3)
  local uid, id, sockets = ARGV[base + 1], ARGV[base + 2], tonumber(ARGV[base + 3])
  local s = load(key, KEYS[2], now)
  local d = s.devices[id]
  if d then
    local field = 'c:' .. ARGV[3] .. ':' .. id
    -- What load counted of this process (nothing when its entry had run out), replaced by what it states.
    local counted = tonumber(redis.call('HGET', key, field)) or 0
    redis.call('HSET', key, field, sockets)
    d.conns = d.conns - counted + sockets
    if d.status ~= 'offline' then
      -- last_seen stays: a refresh is the process vouching for the socket, not the user doing anything.
      d.ws = later(d.ws, at)
      redis.call('ZADD', KEYS[1], 'GT', ARGV[1], uid)
    end
    s.dirty[id] = true
    save(key, s, ARGV[2])
  end
  local dl = deadline(s, timeout, grace)
  if dl and dl <= at then due[#due + 1] = uid end
end
return due
