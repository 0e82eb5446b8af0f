// The custody log's Redis scripts (evidence/custody.ts): each commits atomically on one case's keys,
// so appenders on any number of machines agree on one gap-free, fork-free order.

// KEYS: head, events, idem. ARGV: expectedSeq, expectedHash, newSeq, newHash, eventBytes, idemKey.
export const APPEND_LUA = `
local idem = ARGV[6]
if idem ~= '' then
  local s = redis.call('HGET', KEYS[3], idem)
  if s then return {'dup', s, redis.call('LINDEX', KEYS[2], tonumber(s) - 1)} end
end
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
local hash = redis.call('HGET', KEYS[1], 'hash') or ''
if seq ~= ARGV[1] or (seq ~= '0' and hash ~= ARGV[2]) then return {'conflict', seq, hash} end
local len = redis.call('LLEN', KEYS[2])
if len ~= tonumber(seq) then return redis.error_reply('custody list holds ' .. len .. ' events but head is at ' .. seq) end
redis.call('RPUSH', KEYS[2], ARGV[5])
redis.call('HSET', KEYS[1], 'seq', ARGV[3], 'hash', ARGV[4])
if idem ~= '' then redis.call('HSET', KEYS[3], idem, ARGV[3]) end
return {'ok', ARGV[3]}
`;

// KEYS: head, events, idem. ARGV: expectedSeq, expectedHash, n, then per event: seq, hash, bytes, idemKey.
// All or nothing: 'dup' when any idempotency key is already taken (the caller then goes one by one).
export const APPEND_ALL_LUA = `
local n = tonumber(ARGV[3])
for i = 0, n - 1 do
  local idem = ARGV[4 + i * 4 + 3]
  if idem ~= '' and redis.call('HEXISTS', KEYS[3], idem) == 1 then return {'dup'} end
end
local seq = redis.call('HGET', KEYS[1], 'seq') or '0'
local hash = redis.call('HGET', KEYS[1], 'hash') or ''
if seq ~= ARGV[1] or (seq ~= '0' and hash ~= ARGV[2]) then return {'conflict', seq, hash} end
local len = redis.call('LLEN', KEYS[2])
if len ~= tonumber(seq) then return redis.error_reply('custody list holds ' .. len .. ' events but head is at ' .. seq) end
for i = 0, n - 1 do
  local b = 4 + i * 4
  redis.call('RPUSH', KEYS[2], ARGV[b + 2])
  if ARGV[b + 3] ~= '' then redis.call('HSET', KEYS[3], ARGV[b + 3], ARGV[b]) end
end
local last = 4 + (n - 1) * 4
redis.call('HSET', KEYS[1], 'seq', ARGV[last], 'hash', ARGV[last + 1])
return {'ok'}
`;

// KEYS: head, events, idem. ARGV: seq, hash, then pairs of (idemKey, seq), then '--', then event bytes.
export const SEED_LUA = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('LLEN', KEYS[2]) > 0 then return 0 end
local i = 3
while ARGV[i] ~= '--' do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
for j = i + 1, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[j]) end
redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'hash', ARGV[2])
return 1
`;
