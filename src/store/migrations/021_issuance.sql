-- Issuance: the secrets a personalized card leaves with the server, encrypted under the master key
-- (purpose "<kind>:<device id>"): its PUK (for unblocking), and its initial PIN while the "not
-- displayed" mode keeps it for a one-time retrieval (or while a PIN change is pending).
CREATE TABLE device_secrets (
  device_id  uuid NOT NULL REFERENCES devices(id),
  kind       text NOT NULL CHECK (kind IN ('puk', 'initial_pin')),
  value      bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, kind)
);
