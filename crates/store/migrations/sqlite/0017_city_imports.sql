-- City data (issue 15): the city's own files (green-card honour lists, sent by its admins)
-- are imports too, owned by `city`. SQLite changes a CHECK by rebuilding the table.
CREATE TABLE imports_new (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    schema_version BIGINT NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('partner', 'city')),
    owner_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_format TEXT NOT NULL,
    key_id TEXT,
    file_sealed BLOB,
    status TEXT NOT NULL CHECK (status IN ('previewed', 'refused', 'committed')),
    rows_total BIGINT NOT NULL,
    rows_new BIGINT NOT NULL,
    rows_unchanged BIGINT NOT NULL,
    rows_refused BIGINT NOT NULL,
    problems TEXT NOT NULL,
    results TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    committed_at BIGINT
);
INSERT INTO imports_new SELECT id, kind, schema_version, owner_kind, owner_id, created_by, file_name, file_sha256,
    file_format, key_id, file_sealed, status, rows_total, rows_new, rows_unchanged, rows_refused, problems, results,
    created_at, committed_at FROM imports;
DROP TABLE imports;
ALTER TABLE imports_new RENAME TO imports;
CREATE UNIQUE INDEX imports_once ON imports(owner_kind, owner_id, kind, schema_version, file_sha256) WHERE status = 'committed';
CREATE INDEX imports_owner ON imports(owner_kind, owner_id, created_at);
