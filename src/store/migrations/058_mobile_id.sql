-- Mobile ID (reference 004, issue #15): an administrator's mobile ID policies say which certificates
-- a person's phone gets (a subset of a device policy's credential profiles), whether the QR code is
-- shown in the portal or e-mailed, how long the mobile ID lives, which person properties go into the
-- enrolment, whether the archived encryption key is recovered onto the phone, and whom to notify.
-- A person's order is a mobile_ids row: its one-time wallet link (purpose mobile_id), then the
-- phone's device and issuance job, then its state.
CREATE TABLE mobile_id_policies (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name              text NOT NULL UNIQUE,
  description       text NOT NULL DEFAULT '',
  device_policy_id  uuid NOT NULL REFERENCES device_policies(id),
  profiles          text[] NOT NULL,
  qr_delivery       text NOT NULL CHECK (qr_delivery IN ('portal', 'email')),
  validity_days     integer NOT NULL CHECK (validity_days BETWEEN 1 AND 3650),
  properties        jsonb NOT NULL DEFAULT '[]',
  recover_key       boolean NOT NULL DEFAULT false,
  notify            text NOT NULL CHECK (notify IN ('none', 'success', 'failure', 'both')),
  require_card      boolean NOT NULL DEFAULT false,
  enabled           boolean NOT NULL DEFAULT true,
  version           integer NOT NULL DEFAULT 1,
  created_at        timestamptz NOT NULL,
  updated_at        timestamptz NOT NULL
);

ALTER TABLE wallet_link_codes DROP CONSTRAINT wallet_link_codes_purpose_check;
ALTER TABLE wallet_link_codes ADD CONSTRAINT wallet_link_codes_purpose_check
  CHECK (purpose IN ('self_issuance', 'operator_issuance', 'remote_issuance', 'mobile_id'));

CREATE TABLE mobile_ids (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users(id),
  policy_id     uuid NOT NULL REFERENCES mobile_id_policies(id),
  state         text NOT NULL CHECK (state IN ('awaiting_wallet', 'issuing', 'active', 'failed', 'cancelled',
                                               'suspended', 'revoked', 'terminated', 'expired')),
  delivery      text NOT NULL CHECK (delivery IN ('portal', 'email')),
  link_id       text REFERENCES wallet_link_codes(id),
  link_expires_at timestamptz NOT NULL,
  mail_id       uuid REFERENCES mail_outbox(id),
  device_id     uuid REFERENCES devices(id),
  job_id        uuid REFERENCES issuance_jobs(id),
  properties    jsonb NOT NULL DEFAULT '{}',
  valid_until   timestamptz,
  error         text,
  created_by    uuid REFERENCES users(id),
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX mobile_ids_user_idx ON mobile_ids (user_id, created_at DESC);
CREATE INDEX mobile_ids_link_idx ON mobile_ids (link_id);
CREATE INDEX mobile_ids_job_idx ON mobile_ids (job_id) WHERE job_id IS NOT NULL;
CREATE INDEX mobile_ids_due_idx ON mobile_ids (valid_until) WHERE state IN ('active', 'suspended');
-- One order under way per person at a time.
CREATE UNIQUE INDEX mobile_ids_one_open_idx ON mobile_ids (user_id) WHERE state IN ('awaiting_wallet', 'issuing');
