-- A winner who declines the contract has evaded it: the lot's result records when and by which
-- signed document, once. The application security is retained and the supplier is entered in
-- the register of unreliable suppliers in the same transaction (services/results.ts).

ALTER TABLE lot_result ADD COLUMN evaded_at timestamptz;
ALTER TABLE lot_result ADD COLUMN evasion_document_id uuid REFERENCES signed_document (id);
ALTER TABLE lot_result ADD CONSTRAINT lot_result_evasion_check
  CHECK ((evaded_at IS NULL) = (evasion_document_id IS NULL));
