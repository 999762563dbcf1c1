-- Fewer pages written per append (issue 14): an append wrote seven b-trees, now four.
-- The outbox is keyed by the event's position, one b-tree instead of three (its TEXT key,
-- that key's index and outbox_by_age): the relay reads it in position order, which is
-- enqueue order, and keeps the rows old enough; markPublished finds a row through the
-- events' event_id index, which the append writes anyway.
-- The events lose AUTOINCREMENT, whose sqlite_sequence row was one more page per append.
-- Positions stay what they were and still only grow: a new row takes the largest position
-- plus one, and events are never deleted (the triggers below), so none is ever reused.
-- The rows are copied, not dropped: pending outbox rows keep their position and age.
CREATE TEMP TABLE outbox_pending AS SELECT position, enqueued_ms FROM outbox;
DROP TABLE outbox;

ALTER TABLE events RENAME TO events_autoincrement;
CREATE TABLE events (
  position     INTEGER PRIMARY KEY,
  event_id     TEXT    NOT NULL UNIQUE,
  stream_id    TEXT    NOT NULL,
  version      INTEGER NOT NULL CHECK (version > 0),
  type         TEXT    NOT NULL,
  data         TEXT    NOT NULL,
  metadata     TEXT    NOT NULL,
  occurred_at  TEXT    NOT NULL,
  UNIQUE (stream_id, version)
);
INSERT INTO events (position, event_id, stream_id, version, type, data, metadata, occurred_at)
  SELECT position, event_id, stream_id, version, type, data, metadata, occurred_at FROM events_autoincrement ORDER BY position;
-- Dropping a table fires no trigger: its triggers go with it, and are made again below.
DROP TABLE events_autoincrement;

CREATE TRIGGER events_are_append_only_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;
CREATE TRIGGER events_are_append_only_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;

CREATE TABLE outbox (
  position     INTEGER PRIMARY KEY REFERENCES events (position),
  enqueued_ms  INTEGER NOT NULL
);
INSERT INTO outbox (position, enqueued_ms) SELECT position, enqueued_ms FROM outbox_pending ORDER BY position;
DROP TABLE outbox_pending;
