-- Idempotency records get an owner and an expiry (security review, issue 11 item 4). The
-- old rows are dropped, not migrated: they hold unsalted SHA-256 fingerprints of whole
-- request bodies (passwords included), which the keyed fingerprints replace. A retry in
-- flight across this migration is answered as a new request.
DROP TABLE idempotency_keys;

CREATE TABLE idempotency_keys (
  key           TEXT    PRIMARY KEY,
  request_hash  TEXT    NOT NULL,
  status        INTEGER NOT NULL,
  body          TEXT    NOT NULL,
  headers       TEXT    NOT NULL,
  -- The person whose request it answered: their erasure deletes the record.
  subject       TEXT,
  created_at    TEXT    NOT NULL,
  -- ISO 8601 UTC, as created_at: compared as text.
  expires_at    TEXT    NOT NULL
);
CREATE INDEX idempotency_keys_by_subject ON idempotency_keys (subject) WHERE subject IS NOT NULL;
CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);
