-- Documents made of signed uploads or signed structured content, their ordered files, and the
-- receipts the platform issues for accepted signed documents.

-- A document is a signed document (same id) with what readers need: type, titles, visibility.
CREATE TABLE document (
  id uuid PRIMARY KEY REFERENCES signed_document (id),
  participant_id uuid NOT NULL REFERENCES participant (id),
  owner_user_id uuid NOT NULL REFERENCES user_account (id),
  form text NOT NULL CHECK (form IN ('copy', 'structured')),
  type text NOT NULL CHECK (type ~ '^[a-z][a-z0-9_.-]{0,63}$'),
  title_kk text NOT NULL CHECK (length(title_kk) BETWEEN 1 AND 500),
  title_ru text NOT NULL CHECK (length(title_ru) BETWEEN 1 AND 500),
  title_en text NOT NULL CHECK (length(title_en) BETWEEN 1 AND 500),
  language text NOT NULL CHECK (language IN ('kk', 'ru', 'en')),
  visibility text NOT NULL CHECK (visibility IN ('public', 'parties')),
  content jsonb,
  created_at timestamptz NOT NULL,
  CHECK ((form = 'structured') = (content IS NOT NULL))
);

CREATE INDEX document_participant_idx ON document (participant_id, created_at DESC);

-- The files of an electronic copy in order: one, or the volumes of a multi-volume archive.
CREATE TABLE document_file (
  document_id uuid NOT NULL REFERENCES document (id),
  position integer NOT NULL CHECK (position BETWEEN 1 AND 999),
  upload_id uuid NOT NULL,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 255),
  media_type text,
  size bigint NOT NULL CHECK (size > 0),
  sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  PRIMARY KEY (document_id, position)
);

-- One receipt per accepted signed document, kept as issued (signed and time-stamped JSON).
CREATE TABLE receipt (
  id uuid PRIMARY KEY,
  signed_document_id uuid NOT NULL UNIQUE REFERENCES signed_document (id),
  receipt jsonb NOT NULL,
  issued_at timestamptz NOT NULL
);
