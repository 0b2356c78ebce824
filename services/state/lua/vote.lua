-- One annotator's vote on one prompt, atomically (services/state/feedback_store.py).
-- KEYS: 1 the prompt's votes, 2 its meta, 3 counts (mode ``all``), 4 tally histogram,
-- 5 annotators, 6 agreement (prompt states), 7 bias.
-- ARGV: 1 annotator, 2 class, 3 v1 cluster, 4 ttl, 5 agree_min, 6 max_rounds, 7 bias field,
-- 8 the result's input coordinate.
-- Returns {moved, round asked for (0 = none), state, votes (flat) when a round is asked}.
local voter, cls, c = ARGV[1], ARGV[2], ARGV[3]
local ttl, amin, maxr, src = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[8]
local function hincr(key, field, by)
  if redis.call('HINCRBY', key, field, by) == 0 then redis.call('HDEL', key, field) end
end
local flat = redis.call('HGETALL', KEYS[1])
local votes, np, nn = {}, 0, 0
for i = 1, #flat, 2 do
  votes[flat[i]] = flat[i + 1]
  if flat[i + 1] == 'pos' then np = np + 1 else nn = nn + 1 end
end
local meta = redis.call('HMGET', KEYS[2], 'state', 'rounds', 'asked_m', 'asked_src', 'bias')
local st, rounds, asked_m = meta[1] or 'none', tonumber(meta[2]) or 0, tonumber(meta[3]) or 0
local old = votes[voter]
if old == cls then
  -- The same vote again. Only a replay of the very result that asked for a round asks again
  -- (the runner drops the copy when the first one was produced).
  if st == 'review' and meta[4] == src then return {0, rounds + 1, st, unpack(flat)} end
  return {0, 0, st}
end
local np2, nn2 = np, nn
if old == 'pos' then np2 = np2 - 1 elseif old == 'neg' then nn2 = nn2 - 1 end
if cls == 'pos' then np2 = np2 + 1 else nn2 = nn2 + 1 end
local m, m2 = np + nn, np2 + nn2
redis.call('HSET', KEYS[1], voter, cls)
votes[voter] = cls
if old then
  redis.call('HINCRBY', KEYS[3], c .. ':' .. old, -1)
  redis.call('HINCRBY', KEYS[3], 'all:' .. old, -1)
end
redis.call('HINCRBY', KEYS[3], c .. ':' .. cls, 1)
redis.call('HINCRBY', KEYS[3], 'all:' .. cls, 1)
for _, g in ipairs({c, 'all'}) do
  if m > 0 then hincr(KEYS[4], g .. ':' .. np .. ':' .. nn, -1) end
  hincr(KEYS[4], g .. ':' .. np2 .. ':' .. nn2, 1)
end
for x, v in pairs(votes) do
  local dp, da = m2 - 1, ((v == 'pos') and np2 or nn2) - 1
  local was = votes[x]
  if x == voter then was = old end
  if was then
    dp = dp - (m - 1)
    da = da - (((was == 'pos') and np or nn) - 1)
  else
    redis.call('HINCRBY', KEYS[5], 'votes:' .. x, 1)
  end
  if dp ~= 0 then hincr(KEYS[5], 'pairs:' .. x, dp) end
  if da ~= 0 then hincr(KEYS[5], 'agree:' .. x, da) end
end
local bias = meta[5]
if not bias then
  bias = ARGV[7]
  redis.call('HSET', KEYS[2], 'bias', bias)
end
if old then hincr(KEYS[7], bias .. ':' .. old, -1) end
redis.call('HINCRBY', KEYS[7], bias .. ':' .. cls, 1)
local new
if math.max(np2, nn2) >= amin * m2 then new = 'agreed'
elseif rounds > 0 and m2 <= asked_m then new = 'review'
elseif rounds < maxr then new = 'ask'
else new = 'unresolved' end
local ask = 0
if new == 'ask' then
  rounds = rounds + 1
  ask = rounds + 1
  new = 'review'
  redis.call('HSET', KEYS[2], 'rounds', rounds, 'asked_m', m2, 'asked_src', src)
  redis.call('HINCRBY', KEYS[6], 'review_requests', 1)
end
if new ~= st then
  if st ~= 'none' then hincr(KEYS[6], 'items:' .. st, -1) end
  redis.call('HINCRBY', KEYS[6], 'items:' .. new, 1)
  redis.call('HSET', KEYS[2], 'state', new)
end
redis.call('EXPIRE', KEYS[1], ttl)
redis.call('EXPIRE', KEYS[2], ttl)
if ask == 0 then return {1, 0, new} end
local out = {1, ask, new}
for x, v in pairs(votes) do
  out[#out + 1] = x
  out[#out + 1] = v
end
return out
