-- LRS store on PostgreSQL: the records of purge jobs (issue 14 §3; mirrors
-- schema/cql/004_purges.cql). One row per job: its state as JSON (`record`), written before the
-- job deletes anything and at every checkpoint, never deleted: the purge audit. It holds no
-- personal data (who asked, the scope, when, the counts).

CREATE TABLE IF NOT EXISTS purges (
  id uuid NOT NULL,
  created bigint NOT NULL,
  record bytea NOT NULL,
  PRIMARY KEY (id)
);
