-- Least privilege for the Function App's identity: it appends and reads events but can
-- never change or delete one; it owns the outbox, reservations and keys it must delete.
-- `npm run db:migrate -- --app-user <identity name> --app-client-id <client id>` makes the identity a member.
IF DATABASE_PRINCIPAL_ID('farmacias_app') IS NULL CREATE ROLE farmacias_app;
GO
GRANT SELECT, INSERT ON es.events TO farmacias_app;
GRANT SELECT, INSERT, DELETE ON es.outbox TO farmacias_app;
GRANT SELECT, INSERT, DELETE ON es.reservations TO farmacias_app;
GRANT SELECT, INSERT ON es.idempotency_keys TO farmacias_app;
GRANT SELECT, INSERT, UPDATE ON es.snapshots TO farmacias_app;
GRANT SELECT, INSERT ON es.stream_index TO farmacias_app;
GRANT SELECT, INSERT, DELETE ON keys.data_keys TO farmacias_app;
DENY UPDATE, DELETE ON es.events TO farmacias_app;
GO
