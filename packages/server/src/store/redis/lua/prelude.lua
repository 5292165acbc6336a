-- Put in front of every script by store/redis/scripts.ts. The scripts repeat the rules of core/rules.ts in
-- Lua because Redis runs nothing else; the store conformance suite holds both copies to the same behaviour.
-- Fields of a user hash: status, last_seen, typing_in, hb (last heartbeat), ws (last WebSocket liveness),
-- dc (last clean close), v (version of the presence) and c:{process} (that process's open WebSockets for the user).

local function n2s(n) return string.format('%d', n) end
local function later(a, b) if a == nil or b > a then return b end return a end

-- The version of a change at `at`: above the last one and never below the time of the change, so versions
-- keep growing when the hash (and the last version with it) is lost.
local function next_version(v, at) return math.max((v or 0) + 1, at) end

-- Redis's clock in ms: every process's liveness is judged by the same clock, as key expiry would be.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A process's socket counts are believed only while its entry in the processes set has not run out, so the
-- sockets of a process that died stop holding users online; counts that no longer count are dropped here.
local function load(key, processes, now)
  local raw = redis.call('HGETALL', key)
  local s = { status = 'offline', conns = 0, v = 0, exists = #raw > 0 }
  for i = 1, #raw, 2 do
    local f, v = raw[i], raw[i + 1]
    if f == 'status' then s.status = v
    elseif f == 'last_seen' then s.last_seen = tonumber(v)
    elseif f == 'hb' then s.hb = tonumber(v)
    elseif f == 'ws' then s.ws = tonumber(v)
    elseif f == 'dc' then s.dc = tonumber(v)
    elseif f == 'v' then s.v = tonumber(v)
    elseif f == 'typing_in' then s.typing_in = v
    elseif string.sub(f, 1, 2) == 'c:' then
      local n = tonumber(v) or 0
      local alive_until = n > 0 and redis.call('ZSCORE', processes, string.sub(f, 3))
      if alive_until and tonumber(alive_until) >= now then
        s.conns = s.conns + n
      else
        redis.call('HDEL', key, f)
      end
    end
  end
  return s
end

-- When the user goes offline unless a sign of life comes first; nil while a socket holds the user online.
local function deadline(s, timeout, grace)
  if s.status == 'offline' or s.conns > 0 then return nil end
  local due = nil
  if s.hb then due = s.hb + timeout end
  if s.ws then
    local sd
    if s.dc == nil or s.ws > s.dc then sd = s.ws + timeout else sd = s.dc + grace end
    due = later(due, sd)
  end
  if due == nil then due = (s.last_seen or 0) + timeout end
  return due
end

-- Keeps a process alive for ttl ms, like a key with a PX expiry. Members of a set never expire by themselves,
-- so the ones that ran out are pruned here, and the set expires with its longest-lived member.
local function keep_alive(processes, process, ttl)
  local now = now_ms()
  redis.call('ZADD', processes, n2s(now + ttl), process)
  redis.call('ZREMRANGEBYSCORE', processes, '-inf', '(' .. n2s(now))
  local last = redis.call('ZRANGE', processes, -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', processes, last[2])
end

