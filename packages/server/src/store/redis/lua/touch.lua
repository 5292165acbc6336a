-- The periodic refresh of a process: keeps the process alive and its socket holders' liveness fresh. Users
-- gone offline stay offline: only a new socket or heartbeat brings them back.
-- KEYS: online users zset, processes zset, then the hash of each user in ARGV's order.
-- ARGV: at, hash ttl s, process id, process ttl ms, then the user ids.
-- Returns 1.
local at = tonumber(ARGV[1])
keep_alive(KEYS[2], ARGV[3], tonumber(ARGV[4]))
for i = 3, #KEYS do
  local key, uid = KEYS[i], ARGV[i + 2]
  local v = redis.call('HMGET', key, 'status', 'ws')
  if v[1] and v[1] ~= 'offline' then
    local ws = tonumber(v[2]) or 0
    if at > ws then ws = at end
    -- last_seen stays: a refresh is the process vouching for the socket, not the user doing anything.
    redis.call('HSET', key, 'ws', n2s(ws))
    redis.call('EXPIRE', key, ARGV[2])
    redis.call('ZADD', KEYS[1], 'GT', ARGV[1], uid)
  end
end
return 1
