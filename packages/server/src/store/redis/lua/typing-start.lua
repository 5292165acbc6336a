-- Starts or extends a user's typing in a conversation.
-- KEYS: typing zset of the conversation, typing due zset, user hash.
-- ARGV: user id, conversation id, typing due member, at, ttl ms.
-- Returns 1 when the user was not typing there (announce is_typing: true), else 0.
local at, ttl = tonumber(ARGV[4]), tonumber(ARGV[5])
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[1])
local announce = (not expiry) or tonumber(expiry) <= at
local due = n2s(at + ttl)
redis.call('ZADD', KEYS[1], due, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl * 2)
redis.call('ZADD', KEYS[2], due, ARGV[3])
if redis.call('EXISTS', KEYS[3]) == 1 then redis.call('HSET', KEYS[3], 'typing_in', ARGV[2]) end
if announce then return 1 end
return 0
