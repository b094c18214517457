-- The append-only audit log: every entry carries the SHA-256 of its canonical form, chained to the
-- previous entry's hash, so that a rewritten history shows as a broken link.
CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  recorded_at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  request_id text,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  prev_hash text NOT NULL,
  hash text NOT NULL UNIQUE,
  CHECK (seq > 0),
  CHECK (prev_hash ~ '^[0-9a-f]{64}$' AND hash ~ '^[0-9a-f]{64}$')
);

CREATE INDEX audit_log_target_idx ON audit_log (target, seq) WHERE target IS NOT NULL;

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();

CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
