-- Participants, their users and rights, signed documents, single-use nonces and sessions.

CREATE TABLE participant (
  id uuid PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN
    ('legal_entity', 'branch', 'individual_entrepreneur', 'individual', 'non_resident')),
  bin text CHECK (bin ~ '^\d{12}$'),
  iin text CHECK (iin ~ '^\d{12}$'),
  foreign_registration text CHECK (length(foreign_registration) BETWEEN 1 AND 64),
  country text CHECK (country ~ '^[A-Z]{2}$'),
  head_participant_id uuid REFERENCES participant (id),
  name_kk text NOT NULL CHECK (length(name_kk) BETWEEN 1 AND 500),
  name_ru text NOT NULL CHECK (length(name_ru) BETWEEN 1 AND 500),
  address jsonb NOT NULL,
  bank jsonb,
  contacts jsonb NOT NULL,
  roles text[] NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'blocked')),
  registered_at timestamptz NOT NULL,
  registration_document_id uuid NOT NULL,
  search tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig,
    name_kk || ' ' || name_ru || ' ' || coalesce(bin, '') || ' ' || coalesce(iin, '') || ' ' ||
    coalesce(foreign_registration, ''))) STORED,
  CHECK (kind <> 'legal_entity' OR bin IS NOT NULL),
  CHECK (kind <> 'branch' OR (bin IS NOT NULL AND head_participant_id IS NOT NULL)),
  CHECK (kind NOT IN ('individual', 'individual_entrepreneur') OR iin IS NOT NULL),
  CHECK (kind <> 'non_resident' OR (foreign_registration IS NOT NULL AND country IS NOT NULL))
);

CREATE UNIQUE INDEX participant_bin_key ON participant (bin) WHERE bin IS NOT NULL;
CREATE UNIQUE INDEX participant_person_key ON participant (iin, kind)
  WHERE bin IS NULL AND iin IS NOT NULL;
CREATE UNIQUE INDEX participant_foreign_key ON participant (country, foreign_registration)
  WHERE foreign_registration IS NOT NULL;
CREATE INDEX participant_search_idx ON participant USING gin (search);
CREATE INDEX participant_registered_idx ON participant (registered_at DESC, id DESC);

-- A category that changes fees needs an operator's confirmation before it counts.
CREATE TABLE participant_category (
  participant_id uuid NOT NULL REFERENCES participant (id),
  category text NOT NULL CHECK (category IN ('state_institution', 'disability_association')),
  status text NOT NULL CHECK (status IN ('pending', 'confirmed', 'rejected')),
  requested_at timestamptz NOT NULL,
  decided_at timestamptz,
  decided_by_participant_id uuid REFERENCES participant (id),
  decision_document_id uuid,
  reason text,
  PRIMARY KEY (participant_id, category)
);

CREATE TABLE user_account (
  id uuid PRIMARY KEY,
  -- 'iin:<IIN>' for Kazakhstan's people; 'subject:<SHA-256 of the subject name>' for foreign
  -- signers, whose certificates carry no IIN.
  identity text NOT NULL UNIQUE CHECK (length(identity) BETWEEN 5 AND 100),
  iin text UNIQUE CHECK (iin ~ '^\d{12}$'),
  full_name text NOT NULL CHECK (length(full_name) BETWEEN 1 AND 300),
  administrator boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL
);

CREATE TABLE membership (
  user_id uuid NOT NULL REFERENCES user_account (id),
  participant_id uuid NOT NULL REFERENCES participant (id),
  rights text[] NOT NULL,
  first_head boolean NOT NULL DEFAULT false,
  added_at timestamptz NOT NULL,
  added_by_user_id uuid REFERENCES user_account (id),
  removed_at timestamptz,
  PRIMARY KEY (user_id, participant_id)
);

CREATE INDEX membership_participant_idx ON membership (participant_id) WHERE removed_at IS NULL;

-- Every signed document as received: the canonical payload, the CMS and the verification report.
CREATE TABLE signed_document (
  id uuid PRIMARY KEY,
  action text NOT NULL,
  participant_id uuid REFERENCES participant (id),
  signer_iin text,
  signer_bin text,
  payload jsonb NOT NULL,
  payload_sha256 text NOT NULL CHECK (payload_sha256 ~ '^[0-9a-f]{64}$'),
  cms bytea NOT NULL,
  report jsonb NOT NULL,
  received_at timestamptz NOT NULL
);

CREATE INDEX signed_document_participant_idx ON signed_document (participant_id, received_at);

-- Single-use nonces for login and for every signed action (replay protection).
CREATE TABLE nonce (
  value text PRIMARY KEY CHECK (value ~ '^[A-Za-z0-9_-]{43}$'),
  purpose text NOT NULL CHECK (purpose IN ('login', 'action')),
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  used_at timestamptz
);

CREATE INDEX nonce_expires_idx ON nonce (expires_at);

CREATE TABLE session (
  id uuid PRIMARY KEY,
  token_sha256 text NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES user_account (id),
  acting_participant_id uuid REFERENCES participant (id),
  certificate_serial text NOT NULL,
  created_at timestamptz NOT NULL,
  last_seen_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  ended_at timestamptz,
  user_agent text
);

CREATE INDEX session_user_idx ON session (user_id, created_at DESC);
