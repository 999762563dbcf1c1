-- The event store in a schema of its own: append-only events with a global position,
-- the outbox the relay drains, reservations for set-based uniqueness, stored answers for
-- idempotent retries, snapshots and the write-side stream index. Keys compare exactly
-- (binary collation, as in SQLite) and are NVARCHAR like the parameters the driver sends,
-- so no implicit conversion stands between a lookup and its index.
IF SCHEMA_ID('es') IS NULL EXEC('CREATE SCHEMA es');
GO
CREATE TABLE es.events (
  position     BIGINT IDENTITY(1, 1) NOT NULL CONSTRAINT pk_events PRIMARY KEY CLUSTERED,
  event_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2    NOT NULL CONSTRAINT uq_events_event_id UNIQUE,
  stream_id    NVARCHAR(200) COLLATE Latin1_General_100_BIN2   NOT NULL,
  version      INT            NOT NULL CONSTRAINT ck_events_version CHECK (version > 0),
  type         NVARCHAR(100) COLLATE Latin1_General_100_BIN2   NOT NULL,
  data         NVARCHAR(MAX)  NOT NULL CONSTRAINT ck_events_data CHECK (ISJSON(data) = 1),
  metadata     NVARCHAR(4000) NOT NULL CONSTRAINT ck_events_metadata CHECK (ISJSON(metadata) = 1),
  occurred_at  DATETIME2(3)   NOT NULL,
  CONSTRAINT uq_events_stream_version UNIQUE (stream_id, version)
);
GO
-- Even an administrator's UPDATE or DELETE fails: history is never rewritten.
CREATE TRIGGER es.events_are_append_only ON es.events AFTER UPDATE, DELETE AS
BEGIN
  THROW 51000, 'events are append-only', 1;
END;
GO
CREATE TABLE es.outbox (
  event_id     NVARCHAR(64) COLLATE Latin1_General_100_BIN2  NOT NULL CONSTRAINT pk_outbox PRIMARY KEY,
  position     BIGINT       NOT NULL,
  enqueued_at  DATETIME2(3) NOT NULL,
  CONSTRAINT fk_outbox_event FOREIGN KEY (event_id) REFERENCES es.events (event_id)
);
CREATE INDEX ix_outbox_by_age ON es.outbox (enqueued_at, position);

CREATE TABLE es.reservations (
  scope        NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
  value        NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  stream_id    NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  reserved_at  DATETIME2(3) NOT NULL,
  CONSTRAINT pk_reservations PRIMARY KEY (scope, value)
);

CREATE TABLE es.idempotency_keys (
  [key]         NVARCHAR(300) COLLATE Latin1_General_100_BIN2  NOT NULL CONSTRAINT pk_idempotency_keys PRIMARY KEY,
  request_hash  NVARCHAR(128) COLLATE Latin1_General_100_BIN2  NOT NULL,
  status        SMALLINT      NOT NULL,
  body          NVARCHAR(MAX) NOT NULL,
  headers       NVARCHAR(MAX) NOT NULL,
  created_at    DATETIME2(3)  NOT NULL
);

CREATE TABLE es.snapshots (
  stream_id  NVARCHAR(200) COLLATE Latin1_General_100_BIN2  NOT NULL,
  [schema]   NVARCHAR(100) COLLATE Latin1_General_100_BIN2  NOT NULL,
  version    INT           NOT NULL,
  state      NVARCHAR(MAX) NOT NULL,
  taken_at   DATETIME2(3)  NOT NULL,
  CONSTRAINT pk_snapshots PRIMARY KEY (stream_id, [schema])
);

CREATE TABLE es.stream_index (
  name       NVARCHAR(100) COLLATE Latin1_General_100_BIN2 NOT NULL,
  [key]      NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  stream_id  NVARCHAR(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  CONSTRAINT pk_stream_index PRIMARY KEY (name, [key], stream_id)
);
GO
