-- PIV content signers (FIPS 201-3 §4.2.1): one key per issuing CA at a time, certified by that CA
-- with the id-PIV-content-signing key purpose, signing each card's CHUID and Security Object. The
-- certificate is an ordinary row of `certificates` (so it is listed, revocable, in CRL and OCSP);
-- the private key is kept here, sealed like a CA key (MasterKey.encrypt purpose 'ca-key:<id>').
-- A rotated signer stays (retired) so its signatures on cards already issued can still be read.
CREATE TABLE piv_content_signers (
  certificate_id uuid PRIMARY KEY REFERENCES certificates(id),
  ca_id          uuid NOT NULL REFERENCES cas(id),
  encrypted_key  bytea NOT NULL,
  active         boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL,
  retired_at     timestamptz
);
CREATE UNIQUE INDEX piv_content_signers_one_active ON piv_content_signers (ca_id) WHERE active;

-- The last conformance check of each device's card (services/piv-conformance.ts): what the card
-- held when read back after issuance, or when an operator checked it again.
CREATE TABLE device_conformance (
  device_id  uuid PRIMARY KEY REFERENCES devices(id),
  report     jsonb NOT NULL,
  checked_at timestamptz NOT NULL
);
