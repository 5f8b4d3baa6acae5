-- Points only by the rules (issue 13): partners no longer post ledger entries. Awards come only
-- from credited deeds (the evaluation's standards, trust, ranges and caps), spending only from
-- redemptions of a scanned code. Take the retired scope 'ledger:post' off every API key (scopes
-- are stored space-separated), and revoke a key that is left with no scope at all.
UPDATE api_keys
SET scopes = TRIM(REPLACE(' ' || scopes || ' ', ' ledger:post ', ' '))
WHERE ' ' || scopes || ' ' LIKE '% ledger:post %';
UPDATE api_keys
SET revoked_at = CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)
WHERE scopes = '' AND revoked_at IS NULL;
