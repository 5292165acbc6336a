-- Put in front of every script by store/redis/scripts.ts. The scripts repeat the rules of core/rules.ts in
-- Lua because Redis runs nothing else; the store conformance suite holds both copies to the same behaviour.
-- Fields of a user hash: status, last_seen, typing_in, hb (last heartbeat of any device), v (version of the
-- presence), d:{device} (a live device: "status|kind|last heartbeat|last socket liveness|last close", times
-- epoch ms or empty), c:{process}:{device} (that process's open WebSockets of the device) and cu (the custom
-- status as JSON, `{"text", "emoji", "expires_at"}` with the expiry in epoch ms; absent: none).

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
-- sockets of a process that died stop holding devices live; counts that no longer count are dropped here.
local RANK = { offline = 0, away = 1, online = 2 }
local KINDS = { 'web', 'mobile', 'desktop' }

local function opt(x) if x == nil or x == '' then return nil end return tonumber(x) end
local function s_opt(n) if n == nil then return '' end return n2s(n) end

local function blank_device(kind) return { status = 'offline', kind = kind, conns = 0 } end
local function parse_device(v)
  local st, kind, hb, ws, dc = string.match(v, '^([^|]*)|([^|]*)|([^|]*)|([^|]*)|([^|]*)$')
  return { status = st or 'offline', kind = kind or 'web', hb = opt(hb), ws = opt(ws), dc = opt(dc), conns = 0 }
end
local function pack_device(d)
  return d.status .. '|' .. d.kind .. '|' .. s_opt(d.hb) .. '|' .. s_opt(d.ws) .. '|' .. s_opt(d.dc)
end

-- `web=online,mobile=away`: the most available status per kind over live devices, in a fixed order.
local function clients_key(devices)
  local best = {}
  for _, d in pairs(devices) do
    if RANK[d.status] > (RANK[best[d.kind]] or 0) then best[d.kind] = d.status end
  end
  local out = {}
  for _, k in ipairs(KINDS) do if best[k] then out[#out + 1] = k .. '=' .. best[k] end end
  return table.concat(out, ',')
end
local function status_of(cl)
  if string.find(cl, '=online', 1, true) then return 'online' end
  if cl ~= '' then return 'away' end
  return 'offline'
end

local function load(key, processes, now)
  local raw = redis.call('HGETALL', key)
  local s = { status = 'offline', conns = 0, v = 0, exists = #raw > 0, devices = {}, dirty = {} }
  local counts, alive = {}, {}
  for i = 1, #raw, 2 do
    local f, v = raw[i], raw[i + 1]
    local prefix = string.sub(f, 1, 2)
    if f == 'status' then s.status = v
    elseif f == 'last_seen' then s.last_seen = tonumber(v)
    elseif f == 'hb' then s.hb = tonumber(v)
    elseif f == 'v' then s.v = tonumber(v)
    elseif f == 'typing_in' then s.typing_in = v
    elseif f == 'cu' then s.cu = v
    elseif prefix == 'd:' then s.devices[string.sub(f, 3)] = parse_device(v)
    elseif prefix == 'c:' then
      local process, device = string.match(f, '^c:(.+):([^:]+)$')
      local n = tonumber(v) or 0
      if process and alive[process] == nil then
        local until_ms = redis.call('ZSCORE', processes, process)
        alive[process] = until_ms ~= false and tonumber(until_ms) >= now
      end
      if process and n > 0 and alive[process] then
        counts[device] = (counts[device] or 0) + n
      else
        redis.call('HDEL', key, f)
      end
    end
  end
  for device, n in pairs(counts) do
    local d = s.devices[device]
    if d then
      d.conns = d.conns + n
      s.conns = s.conns + n
    end
  end
  s.cl = clients_key(s.devices)
  s.before_cl = s.cl
  return s
end

-- Sets a device, or removes it when it ended (offline with no socket holding it).
local function put_device(s, id, d)
  if d.status == 'offline' and d.conns <= 0 then s.devices[id] = nil else s.devices[id] = d end
  s.dirty[id] = true
end

-- The user's status from its devices, with a new version when status or clients changed. True on a change.
local function settle(s, at)
  local cl = clients_key(s.devices)
  local status = status_of(cl)
  local changed = status ~= s.status or cl ~= s.before_cl
  s.status, s.cl = status, cl
  if changed then s.v = next_version(s.v, at) end
  return changed
end

-- The hash's lifetime: a custom status outlives its user going offline (contract section 14), so a hash
-- holding one does not expire; it gets the ttl again once the custom status is gone.
local function keep(key, s, ttl)
  if s.cu then redis.call('PERSIST', key) else redis.call('EXPIRE', key, ttl) end
end

-- The custom status (cu) as the reply's last slot: '' for none.
local function cu_of(s) return s.cu or '' end

-- Writes the user's fields and the devices that changed.
local function save(key, s, ttl)
  local args = { 'status', s.status, 'v', n2s(s.v) }
  if s.last_seen then args[#args + 1] = 'last_seen'; args[#args + 1] = n2s(s.last_seen) end
  if s.hb then args[#args + 1] = 'hb'; args[#args + 1] = n2s(s.hb) end
  for id in pairs(s.dirty) do
    local d = s.devices[id]
    if d then
      args[#args + 1] = 'd:' .. id
      args[#args + 1] = pack_device(d)
    else
      redis.call('HDEL', key, 'd:' .. id)
    end
  end
  if s.cu then
    args[#args + 1] = 'cu'
    args[#args + 1] = s.cu
  else
    redis.call('HDEL', key, 'cu')
  end
  redis.call('HSET', key, unpack(args))
  keep(key, s, ttl)
end

-- When a device ends unless a sign of life comes first; nil while an offline hold or a socket keeps it.
local function device_deadline(d, timeout, grace)
  if d.status == 'offline' or d.conns > 0 then return nil end
  local due = nil
  if d.hb then due = d.hb + timeout end
  if d.ws then
    local sd
    if d.dc == nil or d.ws > d.dc then sd = d.ws + timeout else sd = d.dc + grace end
    due = later(due, sd)
  end
  return due
end

-- When the user's presence next changes unless a sign of life comes first: the earliest device deadline.
-- A user marked live with no device left ends a timeout after last_seen.
local function deadline(s, timeout, grace)
  if s.status == 'offline' then return nil end
  local due, any = nil, false
  for _, d in pairs(s.devices) do
    any = true
    local dd = device_deadline(d, timeout, grace)
    if dd and (due == nil or dd < due) then due = dd end
  end
  if not any then return (s.last_seen or 0) + timeout end
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

