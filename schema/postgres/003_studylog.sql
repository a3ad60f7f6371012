-- LRS store on PostgreSQL: schema version 3, the study-log (issue 11). A one-to-one mirror of
-- schema/cql/003_studylog.cql (read its header for the design). `terms.term` and
-- `roster_records.sourced_id` are UTF-8 in bytea: they may hold NUL (an extension value, an
-- alias key `homePage` NUL `name`), which Scylla's text allows and PostgreSQL's does not.
--
-- Facts and month summaries are written in the statements' transaction; a summary is added to
-- only for facts the transaction actually inserted (`INSERT … ON CONFLICT DO NOTHING RETURNING`),
-- so replays and concurrent ingest instances never count a statement twice.

CREATE TABLE IF NOT EXISTS facts (
  tenant text NOT NULL,
  day integer NOT NULL,
  actor bytea NOT NULL,
  id uuid NOT NULL,
  fact bytea NOT NULL,
  PRIMARY KEY (tenant, day, actor, id)
);

CREATE TABLE IF NOT EXISTS month_summaries (
  tenant text NOT NULL,
  month integer NOT NULL,
  actor bytea NOT NULL,
  statements integer NOT NULL,
  answered integer NOT NULL,
  correct integer NOT NULL,
  completions integer NOT NULL,
  learning_ms bigint NOT NULL,
  scaled_sum double precision NOT NULL,
  scaled_count integer NOT NULL,
  last_active bigint NOT NULL,
  active_days integer NOT NULL,
  PRIMARY KEY (tenant, month, actor)
);

CREATE TABLE IF NOT EXISTS terms (
  tenant text NOT NULL,
  dim smallint NOT NULL,
  term_key bytea NOT NULL,
  term bytea NOT NULL,
  first_seen bigint NOT NULL,
  PRIMARY KEY (tenant, dim, term_key)
);

CREATE TABLE IF NOT EXISTS terms_by_time (
  tenant text NOT NULL,
  month integer NOT NULL,
  first_seen bigint NOT NULL,
  dim smallint NOT NULL,
  term_key bytea NOT NULL,
  PRIMARY KEY (tenant, month, first_seen, dim, term_key)
);

CREATE TABLE IF NOT EXISTS study_tenants (
  tenant text NOT NULL,
  PRIMARY KEY (tenant)
);

CREATE TABLE IF NOT EXISTS roster_versions (
  tenant text NOT NULL,
  number integer NOT NULL,
  imported_at bigint NOT NULL,
  body bytea NOT NULL,
  PRIMARY KEY (tenant, number)
);

CREATE TABLE IF NOT EXISTS roster_records (
  tenant text NOT NULL,
  kind smallint NOT NULL,
  sourced_id bytea NOT NULL,
  record bytea NOT NULL,
  removal bytea,
  PRIMARY KEY (tenant, kind, sourced_id)
);
