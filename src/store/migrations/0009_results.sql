-- Admission of applications, per lot, by the organizer or commission, and the results per lot.

CREATE TABLE admission (
  application_id uuid NOT NULL REFERENCES application (id),
  lot_id uuid NOT NULL REFERENCES lot (id),
  admitted boolean NOT NULL,
  reasons jsonb NOT NULL DEFAULT '[]',
  document_id uuid NOT NULL REFERENCES signed_document (id),
  decided_at timestamptz NOT NULL,
  PRIMARY KEY (application_id, lot_id)
);

-- One row per lot once the results are in: the winner and the runner-up, or none (failed).
CREATE TABLE lot_result (
  lot_id uuid PRIMARY KEY REFERENCES lot (id),
  procurement_id uuid NOT NULL REFERENCES procurement (id),
  winner_application_id uuid REFERENCES application (id),
  winner_price bigint,
  winner_conditional_price bigint,
  second_application_id uuid REFERENCES application (id),
  bidders integer NOT NULL,
  decided_at timestamptz NOT NULL
);

-- The single-source invitation: the customer names the supplier it invites.
ALTER TABLE procurement ADD COLUMN invited_participant_id uuid REFERENCES participant (id);
