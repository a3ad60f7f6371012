-- LRS store on PostgreSQL: the LTI launch nonces used (issue 13; mirrors
-- schema/cql/005_lti_nonces.cql). One row per nonce the dashboard accepted, until its id_token
-- expires (`expires`, Unix seconds): every query instance checks here, so a launch replayed to
-- another instance is refused. Rows past their expiry are deleted now and then by the instances.

CREATE TABLE IF NOT EXISTS lti_nonces (
  nonce text NOT NULL,
  expires bigint NOT NULL,
  PRIMARY KEY (nonce)
);
