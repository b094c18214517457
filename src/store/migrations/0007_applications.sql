-- Applications with sealed price offers: each procurement's key pair (private half wrapped by the
-- platform key), the applications as sealed envelopes, and the offers once opened.

CREATE TABLE procurement_key (
  procurement_id uuid PRIMARY KEY REFERENCES procurement (id),
  public_key bytea NOT NULL,
  wrapped_private_key bytea NOT NULL,
  created_at timestamptz NOT NULL,
  opened_at timestamptz
);

-- A sealed signed document keeps neither its payload nor its CMS in clear until it is opened:
-- both are inside the application's envelope, and payload_sha256 is the envelope's hash.
ALTER TABLE signed_document ADD COLUMN sealed boolean NOT NULL DEFAULT false;

CREATE TABLE application (
  id uuid PRIMARY KEY,
  procurement_id uuid NOT NULL REFERENCES procurement (id),
  supplier_participant_id uuid NOT NULL REFERENCES participant (id),
  version integer NOT NULL CHECK (version >= 1),
  status text NOT NULL CHECK (status IN ('submitted', 'replaced', 'withdrawn')),
  signed_document_id uuid NOT NULL REFERENCES signed_document (id),
  sealed bytea NOT NULL,
  sealed_sha256 text NOT NULL CHECK (sealed_sha256 ~ '^[0-9a-f]{64}$'),
  received_at timestamptz NOT NULL,
  ended_at timestamptz,
  UNIQUE (procurement_id, supplier_participant_id, version)
);

CREATE UNIQUE INDEX application_live_idx ON application (procurement_id, supplier_participant_id)
  WHERE status = 'submitted';
CREATE INDEX application_procurement_idx ON application (procurement_id, received_at, id);

-- The lots an application is for and how each is secured; prices are not here.
CREATE TABLE application_lot (
  application_id uuid NOT NULL REFERENCES application (id),
  lot_id uuid NOT NULL REFERENCES lot (id),
  security_kind text NOT NULL CHECK (security_kind IN ('wallet', 'guarantee', 'none')),
  security_amount bigint NOT NULL CHECK (security_amount >= 0),
  security_reference text,
  PRIMARY KEY (application_id, lot_id)
);

-- Offers as opened at the deadline, one per lot of each application that was live then.
CREATE TABLE price_offer (
  application_id uuid NOT NULL REFERENCES application (id),
  lot_id uuid NOT NULL REFERENCES lot (id),
  price bigint NOT NULL CHECK (price > 0),
  received_at timestamptz NOT NULL,
  opened_at timestamptz NOT NULL,
  rank integer,
  PRIMARY KEY (application_id, lot_id)
);

CREATE INDEX price_offer_lot_idx ON price_offer (lot_id, price, received_at);

-- Retries of a request with the same Idempotency-Key get the first answer again.
CREATE TABLE idempotent_request (
  user_id uuid NOT NULL REFERENCES user_account (id),
  key text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
  route text NOT NULL,
  request_sha256 text NOT NULL,
  status integer NOT NULL,
  response jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, key)
);
