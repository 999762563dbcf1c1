-- Idempotency claims: a key is taken by the attempt running its request before it runs (an
-- "in progress" record), so a retry sent meanwhile is answered 409 instead of running
-- alongside. A claim names its attempt here; an answer (NULL here) replaces it. The app
-- replaces rows by DELETE and INSERT: the grants of 0004 (SELECT, INSERT, DELETE) suffice.
ALTER TABLE es.idempotency_keys ADD claimed_by NVARCHAR(64) COLLATE Latin1_General_100_BIN2 NULL;
GO
