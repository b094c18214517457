-- Plans, procurements with their lots and history, the chronograph's outage windows, the register
-- of unreliable suppliers and the OCDS release feed.

-- A customer's plan for a year: preliminary or annual; approval and amendments are signed.
CREATE TABLE plan (
  id uuid PRIMARY KEY,
  customer_participant_id uuid NOT NULL REFERENCES participant (id),
  year integer NOT NULL CHECK (year BETWEEN 2020 AND 2100),
  kind text NOT NULL CHECK (kind IN ('preliminary', 'annual')),
  status text NOT NULL CHECK (status IN ('draft', 'approved')),
  version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
  approved_at timestamptz,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (customer_participant_id, year, kind)
);

CREATE TABLE plan_item (
  id uuid PRIMARY KEY,
  plan_id uuid NOT NULL REFERENCES plan (id),
  number integer NOT NULL CHECK (number BETWEEN 1 AND 100000),
  ens_tru text NOT NULL CHECK (ens_tru ~ '^\d{6}\.\d{3}\.\d{6}$'),
  name_kk text NOT NULL CHECK (length(name_kk) BETWEEN 1 AND 1000),
  name_ru text NOT NULL CHECK (length(name_ru) BETWEEN 1 AND 1000),
  name_en text NOT NULL CHECK (length(name_en) BETWEEN 1 AND 1000),
  unit text NOT NULL CHECK (unit ~ '^\d{3,4}$'),
  quantity numeric(18, 3) NOT NULL CHECK (quantity > 0),
  unit_price bigint NOT NULL CHECK (unit_price > 0),
  amount bigint NOT NULL CHECK (amount > 0),
  month integer NOT NULL CHECK (month BETWEEN 1 AND 12),
  kato text NOT NULL CHECK (kato ~ '^\d{9}$'),
  delivery_place text NOT NULL CHECK (length(delivery_place) BETWEEN 1 AND 500),
  funding_source text NOT NULL,
  regime text NOT NULL CHECK (regime IN ('public', 'quasi_public')),
  method text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'removed')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  UNIQUE (plan_id, number)
);

-- Each approval or amendment of a plan: the signed document and what it changed.
CREATE TABLE plan_change (
  id uuid PRIMARY KEY,
  plan_id uuid NOT NULL REFERENCES plan (id),
  version integer NOT NULL,
  kind text NOT NULL CHECK (kind IN ('approval', 'amendment')),
  document_id uuid NOT NULL REFERENCES signed_document (id),
  changes jsonb NOT NULL,
  at timestamptz NOT NULL,
  UNIQUE (plan_id, version)
);

CREATE SEQUENCE procurement_number_seq;

CREATE TABLE procurement (
  id uuid PRIMARY KEY,
  number text NOT NULL UNIQUE,
  ocid text NOT NULL UNIQUE,
  regime text NOT NULL CHECK (regime IN ('public', 'quasi_public')),
  operator_participant_id uuid REFERENCES participant (id),
  method text NOT NULL,
  customer_participant_id uuid NOT NULL REFERENCES participant (id),
  organizer_participant_id uuid NOT NULL REFERENCES participant (id),
  customer_bin text,
  title_kk text NOT NULL CHECK (length(title_kk) BETWEEN 1 AND 1000),
  title_ru text NOT NULL CHECK (length(title_ru) BETWEEN 1 AND 1000),
  title_en text NOT NULL CHECK (length(title_en) BETWEEN 1 AND 1000),
  status text NOT NULL,
  security_basis_points integer NOT NULL CHECK (security_basis_points BETWEEN 0 AND 10000),
  qualification jsonb NOT NULL DEFAULT '[]',
  amount bigint NOT NULL CHECK (amount >= 0),
  kato_region text NOT NULL CHECK (kato_region ~ '^\d{2}$'),
  published_at timestamptz,
  discussion_ends_at timestamptz,
  offers_end_at timestamptz,
  review_ends_at timestamptz,
  next_check timestamptz,
  next_mark text,
  reason text,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  search tsvector GENERATED ALWAYS AS (
    to_tsvector('russian'::regconfig, title_ru || ' ' || number) ||
    to_tsvector('simple'::regconfig, title_kk)) STORED
);

CREATE INDEX procurement_next_check_idx ON procurement (next_check) WHERE next_check IS NOT NULL;
CREATE INDEX procurement_public_idx ON procurement (published_at DESC, id DESC)
  WHERE published_at IS NOT NULL;
CREATE INDEX procurement_search_idx ON procurement USING gin (search);
CREATE INDEX procurement_customer_idx ON procurement (customer_participant_id, created_at DESC);

-- Lots carry copies of the procurement's filter columns, so public search reads one table.
CREATE TABLE lot (
  id uuid PRIMARY KEY,
  procurement_id uuid NOT NULL REFERENCES procurement (id),
  number integer NOT NULL CHECK (number BETWEEN 1 AND 10000),
  plan_item_id uuid REFERENCES plan_item (id),
  ens_tru text NOT NULL CHECK (ens_tru ~ '^\d{6}\.\d{3}\.\d{6}$'),
  title_kk text NOT NULL CHECK (length(title_kk) BETWEEN 1 AND 1000),
  title_ru text NOT NULL CHECK (length(title_ru) BETWEEN 1 AND 1000),
  title_en text NOT NULL CHECK (length(title_en) BETWEEN 1 AND 1000),
  unit text NOT NULL,
  quantity numeric(18, 3) NOT NULL CHECK (quantity > 0),
  unit_price bigint NOT NULL CHECK (unit_price > 0),
  amount bigint NOT NULL CHECK (amount > 0),
  kato text NOT NULL CHECK (kato ~ '^\d{9}$'),
  delivery_place text NOT NULL,
  regime text NOT NULL,
  method text NOT NULL,
  status text NOT NULL,
  customer_bin text,
  kato_region text NOT NULL,
  published_at timestamptz,
  offers_end_at timestamptz,
  -- The words of the titles and one token per filter value (zm method, zg regime, zs status,
  -- zr region, zc customer BIN, ze ENS TRU prefixes), so one GIN scan intersects them all.
  lookup tsvector GENERATED ALWAYS AS (
    to_tsvector('russian'::regconfig, title_ru) || to_tsvector('simple'::regconfig, title_kk) ||
    to_tsvector('simple'::regconfig,
      'zm' || replace(method, '_', '') || ' zg' || replace(regime, '_', '') ||
      ' zs' || replace(status, '_', '') || ' zr' || kato_region ||
      ' zc' || coalesce(customer_bin, 'none') ||
      ' ze' || left(replace(ens_tru, '.', ''), 2) || ' ze' || left(replace(ens_tru, '.', ''), 4) ||
      ' ze' || left(replace(ens_tru, '.', ''), 6) || ' ze' || replace(ens_tru, '.', ''))) STORED,
  UNIQUE (procurement_id, number)
);

CREATE INDEX lot_lookup_idx ON lot USING gin (lookup);
CREATE INDEX lot_public_idx ON lot (published_at DESC, id DESC) WHERE published_at IS NOT NULL;
CREATE INDEX lot_ens_tru_idx ON lot (ens_tru text_pattern_ops);
CREATE INDEX lot_customer_idx ON lot (customer_bin);

-- Documents of a procurement (documentation, amendments, protocols), in the order attached.
CREATE TABLE procurement_document (
  procurement_id uuid NOT NULL REFERENCES procurement (id),
  document_id uuid NOT NULL REFERENCES document (id),
  role text NOT NULL CHECK (role IN ('documentation', 'amendment', 'protocol', 'other')),
  attached_at timestamptz NOT NULL,
  PRIMARY KEY (procurement_id, document_id)
);

-- What happened to a procurement, in order: the source of its OCDS releases and its history.
CREATE TABLE procurement_event (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  procurement_id uuid NOT NULL REFERENCES procurement (id),
  kind text NOT NULL,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  document_id uuid REFERENCES signed_document (id),
  details jsonb NOT NULL DEFAULT '{}'
);

CREATE INDEX procurement_event_idx ON procurement_event (procurement_id, id);

-- Windows in which the portal was down, declared by an operator.
CREATE TABLE outage (
  id uuid PRIMARY KEY,
  starts_at timestamptz NOT NULL,
  ends_at timestamptz NOT NULL,
  reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  declared_by text NOT NULL,
  declared_at timestamptz NOT NULL,
  CHECK (ends_at > starts_at)
);

-- The register of unreliable suppliers (24 months from inclusion by default).
CREATE TABLE unreliable_supplier (
  id uuid PRIMARY KEY,
  participant_id uuid REFERENCES participant (id),
  bin text,
  iin text,
  name_kk text NOT NULL,
  name_ru text NOT NULL,
  reason text NOT NULL,
  procurement_id uuid REFERENCES procurement (id),
  included_at timestamptz NOT NULL,
  excluded_at timestamptz NOT NULL,
  CHECK (bin IS NOT NULL OR iin IS NOT NULL)
);

CREATE INDEX unreliable_supplier_idx ON unreliable_supplier (included_at DESC, id DESC);

-- OCDS releases, one per change. `tx` is the writing transaction: the feed returns a row only
-- once no older transaction is still running, so a reader never skips a committed release.
CREATE TABLE ocds_release (
  seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tx xid8 NOT NULL DEFAULT pg_current_xact_id(),
  ocid text NOT NULL,
  release_id text NOT NULL UNIQUE,
  procurement_id uuid NOT NULL REFERENCES procurement (id),
  date timestamptz NOT NULL,
  release jsonb NOT NULL
);

CREATE INDEX ocds_release_feed_idx ON ocds_release (tx, seq);
CREATE INDEX ocds_release_ocid_idx ON ocds_release (ocid, seq);

