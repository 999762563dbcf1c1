-- Snapshots of aggregate state, so that loading a long stream reads only its tail.
-- `schema` names the state's shape (e.g. pharmacy-v1): a new shape ignores old snapshots.
CREATE TABLE snapshots (
  stream_id  TEXT    NOT NULL,
  schema     TEXT    NOT NULL,
  version    INTEGER NOT NULL,
  state      TEXT    NOT NULL,
  taken_at   TEXT    NOT NULL,
  PRIMARY KEY (stream_id, schema)
);
