-- Resumable uploads (tus 1.0): who owns each one, how far it has come, and, once finished, the
-- SHA-256 under which its bytes sit in the blob store.

CREATE TABLE upload (
  id uuid PRIMARY KEY,
  owner_user_id uuid NOT NULL REFERENCES user_account (id),
  length bigint NOT NULL CHECK (length > 0),
  -- Bytes known to be stored; after a crash the stored file decides and this catches up.
  upload_offset bigint NOT NULL DEFAULT 0 CHECK (upload_offset >= 0 AND upload_offset <= length),
  -- Set while a part with a checksum is being written: bytes from here on are unverified and are
  -- dropped if the process dies before the part is checked.
  unverified_from bigint,
  filename text NOT NULL CHECK (octet_length(filename) BETWEEN 1 AND 255),
  filetype text CHECK (length(filetype) BETWEEN 1 AND 255),
  metadata jsonb NOT NULL,
  status text NOT NULL DEFAULT 'receiving'
    CHECK (status IN ('receiving', 'complete', 'rejected', 'expired', 'terminated')),
  rejection_code text,
  sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  completed_at timestamptz,
  CHECK (status <> 'complete' OR (sha256 IS NOT NULL AND completed_at IS NOT NULL
    AND upload_offset = length))
);

CREATE INDEX upload_owner_idx ON upload (owner_user_id, created_at DESC);
CREATE INDEX upload_expiry_idx ON upload (expires_at) WHERE status = 'receiving';
