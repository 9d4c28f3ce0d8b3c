-- Delegated OCSP responders (RFC 6960 §4.2.2.2): per CA, short-lived certificates with
-- id-kp-OCSPSigning, each key sealed like a CA key (MasterKey.encrypt, purpose 'ca-key:<id>').
-- The newest unexpired one signs; older rows stay for the record and are never used again.
CREATE TABLE ocsp_signers (
  id              uuid PRIMARY KEY,
  ca_id           uuid NOT NULL REFERENCES cas(id),
  key_algorithm   text NOT NULL,
  not_before      timestamptz NOT NULL,
  not_after       timestamptz NOT NULL,
  certificate     bytea NOT NULL,                -- DER
  encrypted_key   bytea NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ocsp_signers_ca_idx ON ocsp_signers (ca_id, not_after DESC);
