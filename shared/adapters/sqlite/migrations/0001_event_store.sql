-- The event store: append-only events, the outbox the relay drains, reservations for
-- set-based uniqueness and stored responses for idempotent retries.
CREATE TABLE events (
  position     INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id     TEXT    NOT NULL UNIQUE,
  stream_id    TEXT    NOT NULL,
  version      INTEGER NOT NULL CHECK (version > 0),
  type         TEXT    NOT NULL,
  data         TEXT    NOT NULL,
  metadata     TEXT    NOT NULL,
  occurred_at  TEXT    NOT NULL,
  UNIQUE (stream_id, version)
);

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE outbox (
  event_id     TEXT    PRIMARY KEY REFERENCES events (event_id),
  position     INTEGER NOT NULL,
  enqueued_ms  INTEGER NOT NULL
);
CREATE INDEX outbox_by_age ON outbox (enqueued_ms, position);

CREATE TABLE reservations (
  scope        TEXT NOT NULL,
  value        TEXT NOT NULL,
  stream_id    TEXT NOT NULL,
  reserved_at  TEXT NOT NULL,
  PRIMARY KEY (scope, value)
);

CREATE TABLE idempotency_keys (
  key           TEXT    PRIMARY KEY,
  request_hash  TEXT    NOT NULL,
  status        INTEGER NOT NULL,
  body          TEXT    NOT NULL,
  headers       TEXT    NOT NULL,
  created_at    TEXT    NOT NULL
);
