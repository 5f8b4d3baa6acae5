-- Witnesses' cosignatures of the log's checkpoints (C2SP cosignature/v1), one line per witness
-- and tree size, as the witness returned it. The checkpoint's body at a size never changes
-- (the tree is append-only), so a cosignature applies to every stored note of that size; the
-- newest size with a quorum of configured witnesses is the witnessed checkpoint.
CREATE TABLE log_cosignatures (
    size BIGINT NOT NULL,
    witness TEXT NOT NULL,          -- the witness's key name
    line TEXT NOT NULL,             -- the signature line, '— <name> <base64>' and a newline
    at_ms BIGINT NOT NULL,          -- when the log received it
    PRIMARY KEY (size, witness)
);
CREATE INDEX log_cosignatures_witness ON log_cosignatures(witness, size);
