-- Compare-and-remove: takes the user offline if the deadline has passed, ending the user's typing with it.
-- The typing key must be declared before the script runs, so the caller names the conversation it believes
-- the user types in; when that is wrong, nothing is written and the caller is told which one to declare.
-- KEYS: user hash, online users zset, processes zset, typing due zset, then the typing zset of the declared
-- conversation (absent when the caller declares none).
-- ARGV: user id, at, timeout ms, grace ms, hash ttl s, declared conversation id or '', its typing due member
-- or ''.
-- Returns {1, previous status, last_seen, conversation whose typing this ended or '', version} when this call
-- took the user offline; {0, deadline or ''} when it did not; {2, conversation id or ''} to call again declaring it.
local key, online = KEYS[1], KEYS[2]
local uid, at = ARGV[1], tonumber(ARGV[2])
local s = load(key, KEYS[3], now_ms())
if not s.exists then
  local score = redis.call('ZSCORE', online, uid)
  if score then
    redis.call('ZREM', online, uid)
    return { 1, 'online', score, '', n2s(next_version(0, at)) }
  end
  return { 0, '' }
end
if s.status == 'offline' then
  redis.call('ZREM', online, uid)
  return { 0, '' }
end
local d = deadline(s, tonumber(ARGV[3]), tonumber(ARGV[4]))
if d == nil or d > at then return { 0, d and n2s(d) or '' } end
local typing_in = s.typing_in or ''
if typing_in ~= ARGV[6] then return { 2, typing_in } end
s.v = next_version(s.v, at)
redis.call('HSET', key, 'status', 'offline', 'v', n2s(s.v))
redis.call('EXPIRE', key, ARGV[5])
redis.call('ZREM', online, uid)
local stopped = ''
if typing_in ~= '' then
  if redis.call('ZREM', KEYS[5], uid) == 1 then stopped = typing_in end
  redis.call('ZREM', KEYS[4], ARGV[7])
  redis.call('HDEL', key, 'typing_in')
end
return { 1, s.status, n2s(s.last_seen or 0), stopped, n2s(s.v) }
