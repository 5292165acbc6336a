-- Releases a lease if the holder still has it.
-- KEYS: lease key.
-- ARGV: holder.
-- Returns 1 when released, 0 when the holder did not have it.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
