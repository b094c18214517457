-- Values that do not compress are stored without trying: a sealed offer is ciphertext, and a
-- receipt is mostly base64 of signatures and certificates. PostgreSQL would otherwise run its
-- compressor over each one on every insert, to keep the result only if it saved a quarter.

ALTER TABLE application ALTER COLUMN sealed SET STORAGE EXTERNAL;
ALTER TABLE receipt ALTER COLUMN receipt SET STORAGE EXTERNAL;
