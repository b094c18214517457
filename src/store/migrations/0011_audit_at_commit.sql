-- Audit entries are linked into the chain when their transaction commits, not when they are
-- written. The transaction writes its entry to audit_pending with the entry's canonical form
-- (RFC 8785) cut where the previous hash and the sequence number go; a deferred trigger, which
-- runs inside the commit, takes the chain's lock, reads the chain's end, and moves the entry to
-- audit_log with its link and hash. The lock is held from there to the end of the commit only,
-- never across a round trip to the application, so appends from many connections do not queue
-- behind each other's work.

CREATE TABLE audit_pending (
  id uuid PRIMARY KEY,
  recorded_at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  target text,
  request_id text,
  details jsonb NOT NULL,
  -- The canonical form is before_prev || previous hash || before_seq || seq || after_seq.
  before_prev text NOT NULL,
  before_seq text NOT NULL,
  after_seq text NOT NULL
);

-- The id the application gave the entry, to find it again; the hash does not cover it.
ALTER TABLE audit_log ADD COLUMN entry_id uuid UNIQUE;

CREATE FUNCTION audit_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  end_seq bigint;
  end_hash text;
  linked_hash text;
BEGIN
  -- Serialises appends across nodes until the commit ends. In READ COMMITTED each statement
  -- below takes a new snapshot, so the read after the lock sees every entry committed before.
  PERFORM pg_advisory_xact_lock(1431326722);
  SELECT seq, hash INTO end_seq, end_hash FROM audit_log ORDER BY seq DESC LIMIT 1;
  end_seq := COALESCE(end_seq, 0) + 1;
  end_hash := COALESCE(end_hash, repeat('0', 64));
  linked_hash := encode(sha256(convert_to(
    NEW.before_prev || end_hash || NEW.before_seq || end_seq::text || NEW.after_seq,
    'UTF8')), 'hex');
  INSERT INTO audit_log (seq, recorded_at, actor, action, target, request_id, details, prev_hash,
                         hash, entry_id)
  VALUES (end_seq, NEW.recorded_at, NEW.actor, NEW.action, NEW.target, NEW.request_id,
          NEW.details, end_hash, linked_hash, NEW.id);
  DELETE FROM audit_pending WHERE id = NEW.id;
  RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER audit_pending_link
  AFTER INSERT ON audit_pending
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION audit_link();
