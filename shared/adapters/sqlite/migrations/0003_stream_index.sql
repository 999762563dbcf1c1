-- A secondary index of the write side: streams listed under a name and key (for example
-- the offers of a product), written in the same transaction as the events that add them.
CREATE TABLE stream_index (
  name       TEXT NOT NULL,
  key        TEXT NOT NULL,
  stream_id  TEXT NOT NULL,
  PRIMARY KEY (name, key, stream_id)
);
