-- LRS store on PostgreSQL: schema version 2, the quarantine (mirrors schema/cql/002_quarantine.cql).
--
-- Statements ingest could not write because the store refused them for good (a key or value
-- beyond a backend's limits): kept here, one row per (tenant, statement id), with the log position
-- they were read from, the store's error and the statement body (JSON without `stored`), so no
-- acknowledged statement is lost and the log partition moves on. Operators list them with
-- `GET /api/v1/admin/quarantine` or `lrs admin quarantine list`.

CREATE TABLE IF NOT EXISTS quarantine (
  tenant text NOT NULL,
  statement_id uuid NOT NULL,
  stored bigint NOT NULL,
  log_partition integer NOT NULL,
  log_offset bigint NOT NULL,
  error text NOT NULL,
  body bytea NOT NULL,
  quarantined bigint NOT NULL,
  PRIMARY KEY (tenant, statement_id)
);
