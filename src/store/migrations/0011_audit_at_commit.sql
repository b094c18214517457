-- Audit entries are linked into the chain after their transaction commits, not while it runs.
-- A transaction writes its entry to audit_pending with the entry's canonical form (RFC 8785) cut
-- where the previous hash and the sequence number go. A linker (services/audit.ts: linkAudit),
-- one at a time across nodes, moves the entries of finished transactions to audit_log in the
-- order of their transaction ids, then of writing, with their links and hashes. A transaction
-- id below the oldest running one can no longer gain entries, so that order never has to make
-- room for a late entry, and no lock is held across any request's work or commit.

CREATE TABLE audit_pending (
  tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
  position bigint GENERATED ALWAYS AS IDENTITY,
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

CREATE INDEX audit_pending_order_idx ON audit_pending (tx, position);

-- The id the application gave the entry, to find it again; the hash does not cover it.
ALTER TABLE audit_log ADD COLUMN entry_id uuid UNIQUE;
