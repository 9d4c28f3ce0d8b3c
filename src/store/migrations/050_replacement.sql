-- Replacement (reference 003) and device suspension: why each credential is on hold, the device
-- suspensions, and what a replacement request needs beyond the foundation's columns.

-- A device may be suspended: every credential on hold until it is resumed (or replaced).
ALTER TABLE devices DROP CONSTRAINT devices_state_check;
ALTER TABLE devices ADD CONSTRAINT devices_state_check
  CHECK (state IN ('inventory', 'bound', 'issuing', 'pending', 'active', 'suspended', 'failed',
                   'awaiting_recycle', 'invalid', 'terminated'));

-- One row while a device is suspended by hand (the reason a replacement request restores an
-- invalid original to suspended rather than active).
CREATE TABLE device_suspensions (
  device_id    uuid PRIMARY KEY REFERENCES devices(id),
  suspended_by uuid REFERENCES users(id),
  note         text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL
);

-- Why a credential is on hold: one row per cause (a replacement request, or a device suspension).
-- A credential is released at the CA only when its last active hold ends; a credential suspended
-- by hand at the CA has no row here, so no request or suspension ever lifts it.
CREATE TABLE credential_holds (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  credential_id uuid NOT NULL REFERENCES credentials(id),
  request_id    uuid REFERENCES requests(id),
  suspended_device_id uuid REFERENCES devices(id),
  created_at    timestamptz NOT NULL,
  released_at   timestamptz,
  CHECK ((request_id IS NULL) <> (suspended_device_id IS NULL))
);
CREATE UNIQUE INDEX credential_holds_request_key ON credential_holds (credential_id, request_id)
  WHERE released_at IS NULL AND request_id IS NOT NULL;
CREATE UNIQUE INDEX credential_holds_suspension_key ON credential_holds (credential_id, suspended_device_id)
  WHERE released_at IS NULL AND suspended_device_id IS NOT NULL;
CREATE INDEX credential_holds_credential_idx ON credential_holds (credential_id) WHERE released_at IS NULL;
CREATE INDEX credential_holds_request_idx ON credential_holds (request_id);

ALTER TABLE requests
  ADD COLUMN policy_id uuid REFERENCES device_policies(id),   -- the replacement device's policy
  ADD COLUMN rejected_by uuid REFERENCES users(id),
  ADD COLUMN decision_note text NOT NULL DEFAULT '',
  -- A temporary replacement device ends by itself at this time (the expiry job claims due rows
  -- with FOR UPDATE SKIP LOCKED, so one server of several ends each, and a restart loses none).
  ADD COLUMN due_at timestamptz,
  -- The temporary request a permanent one was made over (ref. 003: permanent over temporary).
  ADD COLUMN over_request_id uuid REFERENCES requests(id);
CREATE INDEX requests_due_idx ON requests (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX requests_target_idx ON requests (target_device_id);
CREATE INDEX requests_replacement_idx ON requests (replacement_device_id);

-- What people call a request ("replacement request #12"), and the version an operator acted on:
-- a decision sent for a version that is no longer current is refused (two operators at once).
ALTER TABLE requests
  ADD COLUMN number bigserial,
  ADD COLUMN version integer NOT NULL DEFAULT 1;
CREATE UNIQUE INDEX requests_number_key ON requests (number);
