-- Activity of users over their sockets (client frames, pongs): moves last_seen of users not offline. It is
-- never a transition and never revives an offline user.
-- KEYS: the hash of each user in ARGV's order.
-- ARGV: at, then the user ids.
-- Returns 1.
local at = tonumber(ARGV[1])
for i = 1, #KEYS do
  local v = redis.call('HMGET', KEYS[i], 'status', 'last_seen')
  if v[1] and v[1] ~= 'offline' and at > (tonumber(v[2]) or 0) then
    redis.call('HSET', KEYS[i], 'last_seen', n2s(at))
  end
end
return 1
