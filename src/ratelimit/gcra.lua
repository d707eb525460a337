-- GCRA in one step, on Redis's clock (so replicas' clocks never matter).
-- KEYS[1]: the subject's theoretical arrival time (ms); ARGV: emission interval (ms, may be
-- fractional), burst (requests), cost (requests).
-- Returns {allowed (1|0), retry after (ms), remaining (requests), reset (ms)}.
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then
  tat = now
end
local capacity = burst * interval
local new_tat = tat + cost * interval
local allow_at = new_tat - capacity
if now < allow_at then
  local remaining = math.floor((capacity - (tat - now)) / interval)
  return {0, math.ceil(allow_at - now), math.max(remaining, 0), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.max(math.ceil(new_tat - now), 1))
return {1, 0, math.floor((now - allow_at) / interval), math.ceil(new_tat - now)}
