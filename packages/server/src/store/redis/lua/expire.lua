-- Compare-and-remove: ends the user's devices whose deadline has passed; when that takes the user offline,
-- the user's typing ends with it. The typing key must be declared before the script runs, so the caller names
-- the conversation it believes the user types in; when that is wrong, nothing is written and the caller is
-- told which one to declare.
-- KEYS: user hash, online users zset, processes zset, typing due zset, then the typing zset of the declared
-- conversation (absent when the caller declares none).
-- ARGV: user id, at, timeout ms, grace ms, hash ttl s, declared conversation id or '', its typing due member
-- or ''.
-- Returns {1, previous status, last_seen, conversation whose typing this ended or '', version, status,
-- clients, next deadline or '', custom status or ''} when this call changed the user (status or clients); {0, deadline or ''} when
-- it did not; {2, conversation id or ''} to call again declaring it.
local key, online = KEYS[1], KEYS[2]
local uid, at = ARGV[1], tonumber(ARGV[2])
local timeout, grace = tonumber(ARGV[3]), tonumber(ARGV[4])
local s = load(key, KEYS[3], now_ms())
if not s.exists then
  local score = redis.call('ZSCORE', online, uid)
  if score then
    redis.call('ZREM', online, uid)
    return { 1, 'online', score, '', n2s(next_version(0, at)), 'offline', '', '', '' }
  end
  return { 0, '' }
end
if s.status == 'offline' then
  redis.call('ZREM', online, uid)
  return { 0, '' }
end
local d = deadline(s, timeout, grace)
if d == nil or d > at then return { 0, d and n2s(d) or '' } end
for id, dev in pairs(s.devices) do
  local dd = device_deadline(dev, timeout, grace)
  if dd and dd <= at then
    s.devices[id] = nil
    s.dirty[id] = true
  end
end
local offline = status_of(clients_key(s.devices)) == 'offline'
local typing_in = s.typing_in or ''
if offline and typing_in ~= ARGV[6] then return { 2, typing_in } end
local prev = s.status
local changed = settle(s, at)
save(key, s, ARGV[5])
local next_due = deadline(s, timeout, grace)
if not changed then return { 0, next_due and n2s(next_due) or '' } end
local stopped = ''
if offline then
  redis.call('ZREM', online, uid)
  if typing_in ~= '' then
    if redis.call('ZREM', KEYS[5], uid) == 1 then stopped = typing_in end
    redis.call('ZREM', KEYS[4], ARGV[7])
    redis.call('HDEL', key, 'typing_in')
  end
end
return { 1, prev, n2s(s.last_seen or 0), stopped, n2s(s.v), s.status, s.cl, next_due and n2s(next_due) or '', cu_of(s) }
