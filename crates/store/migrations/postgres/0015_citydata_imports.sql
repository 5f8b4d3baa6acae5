-- City data: one row per uploaded file (issue 15). A file is checked whole; it is committed in
-- one transaction with this row, or not at all. The uploaded bytes are kept sealed (AES-GCM,
-- the vault's key key_id, associated data 'import:<id>') only until the import is committed,
-- so that a clerk can confirm a preview or download the error workbook of a refused file.
CREATE TABLE imports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    schema_version BIGINT NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('partner')),
    owner_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    file_name TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    file_format TEXT NOT NULL,
    key_id TEXT,
    file_sealed BYTEA,
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
-- A file is committed once per owner, kind and schema version.
CREATE UNIQUE INDEX imports_once ON imports(owner_kind, owner_id, kind, schema_version, file_sha256) WHERE status = 'committed';
CREATE INDEX imports_owner ON imports(owner_kind, owner_id, created_at);
