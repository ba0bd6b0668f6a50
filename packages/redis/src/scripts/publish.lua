-- Makes write-only fields public: removes them from the pending fields the schema key
-- records. Fields that are public already or not applied are ignored; a resource with no
-- schema key is left alone. Idempotent.
-- KEYS[1] the schema key. ARGV: the fields to publish.
-- Reply: {'ok'}.
local text = redis.call('GET', KEYS[1])
if not text then return { 'ok' } end
local applied = cjson.decode(text)
local fields = {}
if type(applied.fields) == 'table' then fields = applied.fields end
local before = type(applied.pending) == 'table' and applied.pending or nil
if not before or #before == 0 then return { 'ok' } end
applied.pending = pending_after(fields, before, nil, ARGV)
redis.call('SET', KEYS[1], cjson.encode(applied))
return { 'ok' }
