-- The certificate authority: CAs (own root + issuing CA, or an imported issuing CA), issued
-- certificates with their status, per-CA CRL state (number, last CRL), and archived
-- key-management keys. Private keys are stored only encrypted under the master key.

CREATE TABLE cas (
  id              uuid PRIMARY KEY,
  name            text NOT NULL,
  kind            text NOT NULL CHECK (kind IN ('root', 'issuing')),
  parent_id       uuid REFERENCES cas(id),
  subject         text NOT NULL,
  issuer          text NOT NULL,
  serial          text NOT NULL,                 -- lower-case hex
  not_before      timestamptz NOT NULL,
  not_after       timestamptz NOT NULL,
  key_algorithm   text NOT NULL,
  certificate     bytea NOT NULL,                -- DER
  chain_pem       text NOT NULL DEFAULT '',      -- the certificates above this CA, nearest first
  encrypted_key   bytea,                         -- PKCS#8, MasterKey.encrypt(purpose 'ca-key:<id>')
  active          boolean NOT NULL DEFAULT false,
  imported        boolean NOT NULL DEFAULT false,
  created_at      timestamptz NOT NULL DEFAULT now()
);
-- Exactly one issuing CA signs new certificates; older ones keep answering CRL/OCSP for theirs.
CREATE UNIQUE INDEX cas_one_active_issuing ON cas ((kind)) WHERE active AND kind = 'issuing';

CREATE TABLE ca_crls (
  ca_id        uuid PRIMARY KEY REFERENCES cas(id),
  crl_number   bigint NOT NULL DEFAULT 0,         -- last number used (RFC 5280 §5.2.3: monotonic)
  this_update  timestamptz,
  next_update  timestamptz,
  crl          bytea                              -- DER of the current CRL
);

CREATE TABLE certificates (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  ca_id             uuid NOT NULL REFERENCES cas(id),
  serial            text NOT NULL,                -- lower-case hex, no leading zero octets
  user_id           uuid REFERENCES users(id),
  device_id         uuid REFERENCES devices(id),
  credential_id     uuid REFERENCES credentials(id),
  profile           text NOT NULL,
  slot              text,
  subject           text NOT NULL,
  key_algorithm     text NOT NULL,
  not_before        timestamptz NOT NULL,
  not_after         timestamptz NOT NULL,
  status            text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'suspended', 'revoked')),
  revocation_reason text,                         -- RFC 5280 reason name; 'certificateHold' while suspended
  revoked_at        timestamptz,                  -- time of the hold or the revocation
  der               bytea NOT NULL,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX certificates_ca_serial_key ON certificates (ca_id, serial);
CREATE INDEX certificates_user_idx ON certificates (user_id);
CREATE INDEX certificates_device_idx ON certificates (device_id);
CREATE INDEX certificates_credential_idx ON certificates (credential_id);
CREATE INDEX certificates_status_idx ON certificates (ca_id, status) WHERE status <> 'valid';

CREATE TABLE archived_keys (
  certificate_id    uuid PRIMARY KEY REFERENCES certificates(id),
  encrypted_key     bytea NOT NULL,               -- PKCS#8, MasterKey.encrypt(purpose 'archived-key:<certificate id>')
  created_at        timestamptz NOT NULL DEFAULT now(),
  recovered_count   integer NOT NULL DEFAULT 0,
  last_recovered_at timestamptz
);
