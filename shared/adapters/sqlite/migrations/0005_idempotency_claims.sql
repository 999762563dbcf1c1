-- Idempotency claims: a key is taken by the attempt running its request before it runs (an
-- "in progress" record), so a retry sent meanwhile is answered 409 instead of running
-- alongside. A claim names its attempt here; an answer (NULL here) replaces it.
ALTER TABLE idempotency_keys ADD COLUMN claimed_by TEXT;
