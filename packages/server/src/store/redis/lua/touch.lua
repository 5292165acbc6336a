-- The periodic refresh of a process: keeps the process alive, states how many sockets it holds per user, and
-- keeps their liveness fresh. Stating the counts (not adding to them) heals what a stall cost: when this
-- process's entry ran out, other scripts dropped its counts, and this refresh puts them back as they are.
-- Users gone offline stay offline: only a new socket or heartbeat brings them back.
-- KEYS: online users zset, processes zset, then the hash of each user in ARGV's order.
-- ARGV: at, hash ttl s, process id, process ttl ms, then a user id and its open socket count per user.
-- Returns 1.
local at = tonumber(ARGV[1])
local field = 'c:' .. ARGV[3]
keep_alive(KEYS[2], ARGV[3], tonumber(ARGV[4]))
for i = 3, #KEYS do
  local key, uid, sockets = KEYS[i], ARGV[3 + 2 * (i - 2)], ARGV[4 + 2 * (i - 2)]
  local v = redis.call('HMGET', key, 'status', 'ws')
  if v[1] then
    redis.call('HSET', key, field, sockets)
    if v[1] ~= 'offline' then
      local ws = tonumber(v[2]) or 0
      if at > ws then ws = at end
      -- last_seen stays: a refresh is the process vouching for the socket, not the user doing anything.
      redis.call('HSET', key, 'ws', n2s(ws))
      redis.call('ZADD', KEYS[1], 'GT', ARGV[1], uid)
    end
    redis.call('EXPIRE', key, ARGV[2])
  end
end
return 1
