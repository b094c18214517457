-- The suppliers' portal wallet as an append-only ledger (never a stored balance), and the bank
-- statements the operator imports, entry by entry, so that each bank entry counts once.

CREATE TABLE wallet_entry (
  id uuid PRIMARY KEY,
  -- Orders a participant's entries for paging; ids are random.
  seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  participant_id uuid NOT NULL REFERENCES participant (id),
  kind text NOT NULL
    CHECK (kind IN ('deposit', 'hold', 'release', 'retention', 'withdrawal')),
  amount bigint NOT NULL CHECK (amount > 0),
  reference text NOT NULL CHECK (length(reference) BETWEEN 1 AND 300),
  hold_id uuid REFERENCES wallet_entry (id),
  at timestamptz NOT NULL,
  recorded_by text NOT NULL CHECK (length(recorded_by) BETWEEN 1 AND 200),
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  CHECK ((kind IN ('release', 'retention')) = (hold_id IS NOT NULL))
);

-- A bank entry becomes a deposit once; a hold is ended (released or retained) at most once.
CREATE UNIQUE INDEX wallet_entry_deposit_key ON wallet_entry (reference) WHERE kind = 'deposit';
CREATE UNIQUE INDEX wallet_entry_hold_end_key ON wallet_entry (hold_id) WHERE hold_id IS NOT NULL;
CREATE INDEX wallet_entry_participant_idx ON wallet_entry (participant_id, seq DESC);
CREATE INDEX wallet_entry_hold_reference_idx ON wallet_entry (participant_id, reference)
  WHERE kind = 'hold';

CREATE FUNCTION wallet_entry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'wallet_entry is append-only' USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER wallet_entry_append_only
  BEFORE UPDATE OR DELETE ON wallet_entry
  FOR EACH ROW EXECUTE FUNCTION wallet_entry_refuse_change();

CREATE TRIGGER wallet_entry_no_truncate
  BEFORE TRUNCATE ON wallet_entry
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_entry_refuse_change();

-- A release or retention ends a hold of the same participant, for the hold's whole amount.
CREATE FUNCTION wallet_entry_check_end() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  held wallet_entry%ROWTYPE;
BEGIN
  IF NEW.hold_id IS NULL THEN
    RETURN NEW;
  END IF;
  SELECT * INTO held FROM wallet_entry WHERE id = NEW.hold_id;
  IF held.kind IS DISTINCT FROM 'hold' OR held.participant_id <> NEW.participant_id
     OR held.amount <> NEW.amount THEN
    RAISE EXCEPTION 'wallet_entry % does not end hold %', NEW.id, NEW.hold_id
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END;
$$;

CREATE TRIGGER wallet_entry_end_matches_hold
  BEFORE INSERT ON wallet_entry
  FOR EACH ROW EXECUTE FUNCTION wallet_entry_check_end();

-- One import of a camt.053 statement; importing the same statement again adds no new row.
CREATE TABLE bank_statement (
  id uuid PRIMARY KEY,
  account text NOT NULL CHECK (length(account) BETWEEN 1 AND 64),
  statement_id text NOT NULL CHECK (length(statement_id) BETWEEN 1 AND 64),
  message_id text NOT NULL CHECK (length(message_id) BETWEEN 1 AND 64),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  imported_at timestamptz NOT NULL,
  imported_by_participant_id uuid NOT NULL REFERENCES participant (id),
  imported_by_user_id uuid NOT NULL REFERENCES user_account (id),
  UNIQUE (account, statement_id)
);

-- Every booked entry of an imported statement with what became of it: unmatched and ignored
-- entries stay here for the operator, so that no money the bank reported is lost from view.
CREATE TABLE bank_entry (
  reference text PRIMARY KEY CHECK (length(reference) BETWEEN 1 AND 300),
  statement_id uuid NOT NULL REFERENCES bank_statement (id),
  direction text NOT NULL CHECK (direction IN ('credit', 'debit')),
  amount bigint CHECK (amount > 0),
  amount_text text NOT NULL CHECK (length(amount_text) BETWEEN 1 AND 40),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  booked_on date,
  remittance text NOT NULL DEFAULT '' CHECK (length(remittance) <= 2000),
  outcome text NOT NULL CHECK (outcome IN ('deposited', 'unmatched', 'ignored')),
  reason text,
  participant_id uuid REFERENCES participant (id),
  wallet_entry_id uuid REFERENCES wallet_entry (id),
  recorded_at timestamptz NOT NULL,
  CHECK ((outcome = 'deposited') = (wallet_entry_id IS NOT NULL))
);

CREATE INDEX bank_entry_unmatched_idx ON bank_entry (recorded_at) WHERE outcome = 'unmatched';
