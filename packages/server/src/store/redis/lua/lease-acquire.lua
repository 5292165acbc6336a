-- Takes or extends a lease.
-- KEYS: lease key.
-- ARGV: holder, ttl ms.
-- Returns 1 when the holder has the lease, 0 when another holder has it.
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
