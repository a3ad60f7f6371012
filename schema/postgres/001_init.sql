-- LRS store on PostgreSQL: schema version 2 (index blocks; version 1 had a row per statement and
-- path in the statements_by_* tables and is refused at connect: see docs/distributed.md).
--
-- A one-to-one mirror of schema/cql/001_init.cql (read its header for the design): the same tables
-- and columns, and each primary key is the Scylla partition key followed by its clustering key.
-- The PostgreSQL store (store/src/postgres/) only runs queries Scylla could run with these keys:
-- equality on a whole partition key, slices of clustering columns, IN on partition keys.
-- Types: text ↔ text, bigint ↔ bigint, int ↔ int, smallint ↔ tinyint, bytea ↔ blob,
-- uuid ↔ uuid. Document `scope` and `id` are UTF-8 in bytea: they may hold NUL, which Scylla's
-- text allows and PostgreSQL's does not. Clustering `id` columns are uuid here: PostgreSQL orders uuids bytewise, as Scylla
-- orders the blob. Every statement runs in the schema named by the connection's search_path.

CREATE TABLE IF NOT EXISTS statements (
  tenant text NOT NULL,
  id uuid NOT NULL,
  stored bigint NOT NULL,
  keys bytea NOT NULL,
  inherited bytea,
  body bytea NOT NULL,
  PRIMARY KEY (tenant, id)
);

CREATE TABLE IF NOT EXISTS voided (
  tenant text NOT NULL,
  target uuid NOT NULL,
  voided_by uuid NOT NULL,
  PRIMARY KEY (tenant, target)
);

CREATE TABLE IF NOT EXISTS statement_buckets (
  tenant text NOT NULL,
  path text NOT NULL,
  path_key bytea NOT NULL,
  bucket bigint NOT NULL,
  PRIMARY KEY (tenant, path, path_key, bucket)
);

CREATE TABLE IF NOT EXISTS statements_by_stored (
  tenant text NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS statements_by_agent (
  tenant text NOT NULL,
  path_key bytea NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, path_key, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS statements_by_related_agent (
  tenant text NOT NULL,
  path_key bytea NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, path_key, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS statements_by_verb (
  tenant text NOT NULL,
  path_key bytea NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, path_key, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS statements_by_activity (
  tenant text NOT NULL,
  path_key bytea NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, path_key, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS statements_by_related_activity (
  tenant text NOT NULL,
  path_key bytea NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, path_key, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS statements_by_registration (
  tenant text NOT NULL,
  path_key bytea NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, path_key, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS statements_by_authority (
  tenant text NOT NULL,
  path_key bytea NOT NULL,
  day bigint NOT NULL,
  bucket bigint NOT NULL,
  block bigint NOT NULL,
  positions bytea NOT NULL,
  PRIMARY KEY (tenant, path_key, day, bucket, block)
);

CREATE TABLE IF NOT EXISTS watermarks (
  log_partition integer NOT NULL,
  next_offset bigint NOT NULL,
  stored bigint NOT NULL,
  PRIMARY KEY (log_partition)
);

CREATE TABLE IF NOT EXISTS documents (
  tenant text NOT NULL,
  kind smallint NOT NULL,
  scope bytea NOT NULL,
  id bytea NOT NULL,
  content_type text NOT NULL,
  body bytea NOT NULL,
  etag text NOT NULL,
  updated bigint NOT NULL,
  PRIMARY KEY (tenant, kind, scope, id)
);

CREATE TABLE IF NOT EXISTS attachments (
  tenant text NOT NULL,
  sha2 text NOT NULL,
  content_type text NOT NULL,
  body bytea NOT NULL,
  PRIMARY KEY (tenant, sha2)
);

CREATE TABLE IF NOT EXISTS activities (
  tenant text NOT NULL,
  activity_id text NOT NULL,
  definition bytea NOT NULL,
  PRIMARY KEY (tenant, activity_id)
);
