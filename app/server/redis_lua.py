"""The Lua scripts of the Redis room store (redis_store.py, whose docstring lists the keys): each one a single
atomic step on Redis's side, with Redis's own clock (TIME), so that no machine's clock decides an expiry.

Every script takes ARGV[1] = the key prefix and ARGV[2] = how long a worker's numbers are kept (seconds), and
removes, as it goes, the sessions and replicas whose heartbeat stopped (`prune`).
"""

from __future__ import annotations

# Lua shared by the scripts: Redis's clock, and the sessions and replicas whose heartbeat stopped, removed.
COMMON = """
local P = ARGV[1]
local function now() local t = redis.call('TIME') return tonumber(t[1]) + tonumber(t[2]) / 1e6 end
local function alive(key, t) return redis.call('ZCOUNT', key, '(' .. t, '+inf') end
local function prune(t)
  for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', P .. 'sessions', '-inf', t, 'LIMIT', 0, 500)) do
    local m = redis.call('HGET', P .. 'members', ticket)
    if m then redis.call('ZREM', P .. 'replica:' .. cjson.decode(m).replica .. ':sessions', ticket) end
    redis.call('HDEL', P .. 'members', ticket)
    redis.call('ZREM', P .. 'sessions', ticket)
  end
  for _, r in ipairs(redis.call('ZRANGEBYSCORE', P .. 'replicas:alive', '-inf', t, 'LIMIT', 0, 100)) do
    redis.call('HDEL', P .. 'replicas', r)
    redis.call('ZREM', P .. 'replicas:alive', r)
    redis.call('ZREMRANGEBYSCORE', P .. 'replica:' .. r .. ':sessions', '-inf', t)
  end
  for _, w in ipairs(redis.call('ZRANGEBYSCORE', P .. 'stats:at', '-inf', t - tonumber(ARGV[2]), 'LIMIT', 0, 100)) do
    redis.call('HDEL', P .. 'stats', w)
    redis.call('ZREM', P .. 'stats:at', w)
  end
end
"""
# ARGV: prefix, stats kept, ttl, cap, replica, ticket, worker, browser → the session's joined time, or nil: full.
ACQUIRE = COMMON + """
local t = now()
prune(t)
local mine = P .. 'replica:' .. ARGV[5] .. ':sessions'
if alive(mine, t) >= tonumber(ARGV[4]) then return false end
local ttl = tonumber(ARGV[3])
redis.call('ZADD', P .. 'sessions', t + ttl, ARGV[6])
redis.call('ZADD', mine, t + ttl, ARGV[6])
redis.call('HSET', P .. 'members', ARGV[6], cjson.encode({worker = ARGV[7], replica = ARGV[5], browser = ARGV[8],
                                                          joined = t, following = true}))
return tostring(t)
"""
# ARGV: prefix, stats kept, ttl, worker, its numbers, replica, the replica's record, then (ticket, member) pairs.
HEARTBEAT = COMMON + """
local t = now()
local ttl = tonumber(ARGV[3])
for i = 8, #ARGV, 2 do
  redis.call('ZADD', P .. 'sessions', t + ttl, ARGV[i])
  redis.call('ZADD', P .. 'replica:' .. ARGV[6] .. ':sessions', t + ttl, ARGV[i])
  redis.call('HSET', P .. 'members', ARGV[i], ARGV[i + 1])
end
redis.call('HSET', P .. 'stats', ARGV[4], ARGV[5])
redis.call('ZADD', P .. 'stats:at', t, ARGV[4])
redis.call('HSET', P .. 'replicas', ARGV[6], ARGV[7])
redis.call('ZADD', P .. 'replicas:alive', t + ttl, ARGV[6])
prune(t)
return 1
"""
# ARGV: prefix, stats kept, ticket.
RELEASE = COMMON + """
local m = redis.call('HGET', P .. 'members', ARGV[3])
if m then redis.call('ZREM', P .. 'replica:' .. cjson.decode(m).replica .. ':sessions', ARGV[3]) end
redis.call('HDEL', P .. 'members', ARGV[3])
redis.call('ZREM', P .. 'sessions', ARGV[3])
local run = redis.call('HGET', P .. 'lesson', 'run')
if run then redis.call('HDEL', P .. 'results:' .. run, ARGV[3]) end
return 1
"""
# ARGV: prefix, stats kept, ticket, following (0/1).
FOLLOW = COMMON + """
local m = redis.call('HGET', P .. 'members', ARGV[3])
if not m then return 0 end
local member = cjson.decode(m)
member.following = ARGV[4] == '1'
redis.call('HSET', P .. 'members', ARGV[3], cjson.encode(member))
return 1
"""
# ARGV: prefix, stats kept, what ('count' | 'here' | 'members' | 'stats' | 'replicas' | 'results'), its argument.
READ = COMMON + """
local t = now()
local what, arg = ARGV[3], ARGV[4]
if what == 'count' then return alive(P .. 'sessions', t) end
if what == 'here' then return alive(P .. 'replica:' .. arg .. ':sessions', t) end
local out = {}
if what == 'members' then
  for _, ticket in ipairs(redis.call('ZRANGEBYSCORE', P .. 'sessions', '(' .. t, '+inf')) do
    local m = redis.call('HGET', P .. 'members', ticket)
    if m then out[#out + 1] = ticket; out[#out + 1] = m end
  end
elseif what == 'stats' then
  for _, w in ipairs(redis.call('ZRANGEBYSCORE', P .. 'stats:at', '(' .. (t - tonumber(arg)), '+inf')) do
    local s = redis.call('HGET', P .. 'stats', w)
    if s then out[#out + 1] = s end
  end
elseif what == 'replicas' then
  for _, r in ipairs(redis.call('ZRANGEBYSCORE', P .. 'replicas:alive', '(' .. t, '+inf')) do
    local rec = redis.call('HGET', P .. 'replicas', r)
    if rec then
      out[#out + 1] = r; out[#out + 1] = rec; out[#out + 1] = alive(P .. 'replica:' .. r .. ':sessions', t)
    end
  end
elseif what == 'results' then
  local rows = redis.call('HGETALL', P .. 'results:' .. arg)
  for i = 1, #rows, 2 do
    local expiry = redis.call('ZSCORE', P .. 'sessions', rows[i])
    if expiry and tonumber(expiry) > t then out[#out + 1] = rows[i + 1] end
  end
end
return out
"""
