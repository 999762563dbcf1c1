-- Per-person data keys, wrapped by the master key, apart from the events: erasing a
-- person deletes their row here, and the events keep only ciphertext nobody can open.
IF SCHEMA_ID('keys') IS NULL EXEC('CREATE SCHEMA keys');
GO
CREATE TABLE keys.data_keys (
  subject     NVARCHAR(200) COLLATE Latin1_General_100_BIN2   NOT NULL CONSTRAINT pk_data_keys PRIMARY KEY,
  wrapped     VARCHAR(200)   NOT NULL,
  created_at  DATETIME2(3)   NOT NULL
);
GO
