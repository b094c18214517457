-- Real-time reverse auctions: one per lot of an auction procurement, its participants (suppliers
-- whose opened offers were admitted, each with a seat and its own best price) and every bid.

CREATE TABLE auction (
  id uuid PRIMARY KEY,
  procurement_id uuid NOT NULL REFERENCES procurement (id),
  lot_id uuid NOT NULL UNIQUE REFERENCES lot (id),
  status text NOT NULL CHECK (status IN ('open', 'closed')),
  starting_price bigint NOT NULL CHECK (starting_price > 0),
  best_price bigint NOT NULL CHECK (best_price > 0 AND best_price <= starting_price),
  step_basis_points integer NOT NULL CHECK (step_basis_points BETWEEN 1 AND 5000),
  extension_window_ms integer NOT NULL CHECK (extension_window_ms >= 0),
  extension_ms integer NOT NULL CHECK (extension_ms >= 0),
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL CHECK (ends_at > starts_at),
  -- The live topic's sequence: one more for every message (opening, each bid, the close).
  sequence bigint NOT NULL CHECK (sequence >= 1),
  opened_at timestamptz NOT NULL,
  closed_at timestamptz,
  CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

-- The closing job reads the open auctions by their end.
CREATE INDEX auction_due_idx ON auction (ends_at, id) WHERE status = 'open';
CREATE INDEX auction_procurement_idx ON auction (procurement_id);

CREATE TABLE auction_participant (
  auction_id uuid NOT NULL REFERENCES auction (id),
  participant_id uuid NOT NULL REFERENCES participant (id),
  application_id uuid NOT NULL REFERENCES application (id),
  seat integer NOT NULL CHECK (seat >= 1),
  -- The participant's own best: its opened offer, then each of its accepted bids.
  price bigint NOT NULL CHECK (price > 0),
  priced_at timestamptz NOT NULL,
  PRIMARY KEY (auction_id, participant_id),
  UNIQUE (auction_id, seat)
);

CREATE TABLE auction_bid (
  id uuid PRIMARY KEY,
  auction_id uuid NOT NULL REFERENCES auction (id),
  participant_id uuid NOT NULL,
  price bigint NOT NULL CHECK (price > 0),
  sequence bigint NOT NULL,
  received_at timestamptz NOT NULL,
  signed_document_id uuid NOT NULL REFERENCES signed_document (id),
  UNIQUE (auction_id, sequence),
  FOREIGN KEY (auction_id, participant_id)
    REFERENCES auction_participant (auction_id, participant_id)
);
