-- Heartbeats of many users in one call: one round trip and one command per batch, not per user.
-- KEYS: online users zset, processes zset, then the hash of each user in ARGV's order (a user may repeat).
-- ARGV: at, min interval ms, hash ttl s, timeout ms, grace ms, then a user id, claimed status, device id and
-- client kind per user.
-- Returns eight slots per user: {0, retry after ms, '', '', '', '', '', ''} when refused as unchanged and too
-- soon for that device, else {1 (2 when it changed status or clients), previous status, last_seen, deadline or
-- '', version, status, clients, custom status or ''}.
local online, processes = KEYS[1], KEYS[2]
local at, min = tonumber(ARGV[1]), tonumber(ARGV[2])
local ttl, timeout, grace = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local now = now_ms()
local out = {}
-- Most devices a user may have (core/rules.ts MAX_DEVICES_PER_USER).
local MAX_DEVICES = 32
local function push(...)
  for _, x in ipairs({ ... }) do out[#out + 1] = x end
end
for u = 1, #KEYS - 2 do
  local key, base = KEYS[u + 2], 5 + 4 * (u - 1)
  local uid, claimed, id, kind = ARGV[base + 1], ARGV[base + 2], ARGV[base + 3], ARGV[base + 4]
  local s = load(key, processes, now)
  local count = 0
  for _ in pairs(s.devices) do count = count + 1 end
  local d = s.devices[id] or blank_device(kind)
  -- A device an offline heartbeat ended is gone with its last heartbeat: the user's stands in for it.
  local last = d.hb
  if last == nil and s.devices[id] == nil and claimed == 'offline' then last = s.hb end
  if s.devices[id] == nil and claimed ~= 'offline' and count >= MAX_DEVICES then
    push(0, n2s(min), '', '', '', '', '', '')
  elseif claimed == d.status and last and at - last < min then
    push(0, n2s(min - math.max(0, at - last)), '', '', '', '', '', '')
  else
    local prev = s.status
    d.status, d.kind, d.hb = claimed, kind, later(d.hb, at)
    put_device(s, id, d)
    s.last_seen = later(s.last_seen, at)
    s.hb = later(s.hb, at)
    local changed = settle(s, at)
    save(key, s, ttl)
    if s.status == 'offline' then
      redis.call('ZREM', online, uid)
    else
      redis.call('ZADD', online, 'GT', ARGV[1], uid)
    end
    local dl = deadline(s, timeout, grace)
    push(changed and 2 or 1, prev, n2s(s.last_seen), dl and n2s(dl) or '', n2s(s.v), s.status, s.cl, cu_of(s))
  end
end
return out
