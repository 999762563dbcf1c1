-- Idempotency records get an owner and an expiry (security review, issue 11 item 4). The
-- old rows are dropped, not migrated: they hold unsalted SHA-256 fingerprints of whole
-- request bodies (passwords included), which keyed fingerprints (HMAC-SHA-256) replace.
-- A retry in flight across this migration is answered as a new request.
DROP TABLE es.idempotency_keys;
GO
CREATE TABLE es.idempotency_keys (
  [key]         NVARCHAR(300) COLLATE Latin1_General_100_BIN2  NOT NULL CONSTRAINT pk_idempotency_keys PRIMARY KEY,
  request_hash  NVARCHAR(128) COLLATE Latin1_General_100_BIN2  NOT NULL,
  status        SMALLINT      NOT NULL,
  body          NVARCHAR(MAX) NOT NULL,
  headers       NVARCHAR(MAX) NOT NULL,
  -- The person whose request it answered: their erasure deletes the record.
  subject       NVARCHAR(200) COLLATE Latin1_General_100_BIN2  NULL,
  created_at    DATETIME2(3)  NOT NULL,
  -- Never replayed from then on; the purge timer deletes it.
  expires_at    DATETIME2(3)  NOT NULL
);
CREATE INDEX ix_idempotency_keys_by_subject ON es.idempotency_keys (subject) WHERE subject IS NOT NULL;
CREATE INDEX ix_idempotency_keys_by_expiry ON es.idempotency_keys (expires_at);
GO
-- The app now deletes records too: erasure, an expired key used again, and the purge.
GRANT SELECT, INSERT, DELETE ON es.idempotency_keys TO farmacias_app;
GO
