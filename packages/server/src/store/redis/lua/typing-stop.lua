-- Stops a user's typing in a conversation; with `at`, only if the entry has expired by then (compare-and-remove).
-- The due index is the authority: the conversation's own key expires on its own (twice the TTL after the last
-- start), and a typing whose process died must still end, announced, when a sweep finds it later.
-- KEYS: typing zset of the conversation, typing due zset, user hash.
-- ARGV: user id, conversation id, typing due member, at or '' to stop regardless of expiry.
-- Returns 1 when this call removed the entry (announce is_typing: false), else 0.
if ARGV[4] ~= '' then
  local expiry = redis.call('ZSCORE', KEYS[2], ARGV[3]) or redis.call('ZSCORE', KEYS[1], ARGV[1])
  if expiry and tonumber(expiry) > tonumber(ARGV[4]) then return 0 end
end
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
local removed_due = redis.call('ZREM', KEYS[2], ARGV[3])
if redis.call('HGET', KEYS[3], 'typing_in') == ARGV[2] then redis.call('HDEL', KEYS[3], 'typing_in') end
if removed == 1 or removed_due == 1 then return 1 end
return 0
