-- One scoping rule for every idempotency key a client sends (domain::IdempotencyKey):
-- 'partner:<partner id>/<key>', as ledger entries and redemptions already store them. Partners'
-- deeds were stored as '<partner id>/<key>'; rewrite them, so that a retry of a deed submitted
-- before this migration still finds it. Partner ids are UUIDs, so no old key starts with
-- 'partner:'.
UPDATE deeds SET idem_key = 'partner:' || idem_key
WHERE idem_key IS NOT NULL AND idem_key NOT LIKE 'partner:%';
