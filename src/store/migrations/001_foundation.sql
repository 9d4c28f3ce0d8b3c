-- Foundation: people, sessions, devices, policies, credentials, settings, requests, issuance jobs
-- and the hash-chained audit log.

CREATE TABLE users (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  username      text NOT NULL,
  display_name  text NOT NULL,
  email         text,
  source        text NOT NULL DEFAULT 'local' CHECK (source IN ('local', 'ldap')),
  external_id   text,
  state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'suspended', 'terminated')),
  roles         text[] NOT NULL DEFAULT '{user}',
  properties    jsonb NOT NULL DEFAULT '{}'::jsonb,
  password_hash text,
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until  timestamptz,
  demo          boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE INDEX users_display_name_idx ON users (lower(display_name));

CREATE TABLE sessions (
  id           text PRIMARY KEY,            -- SHA-256 of the cookie token; the token itself is never stored
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind         text NOT NULL DEFAULT 'operator' CHECK (kind IN ('operator', 'portal')),
  csrf_token   text NOT NULL,
  auth_method  text NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at   timestamptz NOT NULL,
  data         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX sessions_user_idx ON sessions (user_id);

CREATE TABLE device_policies (
  id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name                 text NOT NULL,
  description          text NOT NULL DEFAULT '',
  device_types         text[] NOT NULL,
  credential_profiles  jsonb NOT NULL,
  pin_policy           jsonb NOT NULL,
  puk_retries          integer NOT NULL,
  device_validity_days integer NOT NULL,
  default_layout       text,
  demo                 boolean NOT NULL DEFAULT false,
  version              integer NOT NULL DEFAULT 1,
  created_at           timestamptz NOT NULL DEFAULT now(),
  updated_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX device_policies_name_key ON device_policies (lower(name));

CREATE TABLE devices (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  serial      text NOT NULL,
  type        text NOT NULL CHECK (type IN ('piv_card', 'piv_token', 'mobile')),
  model       text NOT NULL DEFAULT '',
  state       text NOT NULL DEFAULT 'inventory'
              CHECK (state IN ('inventory', 'bound', 'issuing', 'pending', 'active', 'failed', 'awaiting_recycle', 'invalid', 'terminated')),
  user_id     uuid REFERENCES users(id),
  policy_id   uuid REFERENCES device_policies(id),
  notes       text NOT NULL DEFAULT '',
  issued_at   timestamptz,
  expires_at  timestamptz,
  demo        boolean NOT NULL DEFAULT false,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX devices_serial_key ON devices (upper(serial));
CREATE INDEX devices_user_idx ON devices (user_id);
CREATE INDEX devices_state_idx ON devices (state);

CREATE TABLE credentials (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users(id),
  policy_id   uuid REFERENCES device_policies(id),
  profile     text NOT NULL,                 -- credential profile name within the policy
  slot        text NOT NULL CHECK (slot IN ('9a', '9c', '9d', '9e', '82', '83', '84', '85', '86', '87', '88', '89', '8a', '8b', '8c', '8d', '8e', '8f', '90', '91', '92', '93', '94', '95')),
  status      text NOT NULL DEFAULT 'valid' CHECK (status IN ('valid', 'suspended', 'revoked')),
  certificate_serial text,                   -- hex serial of the certificate at the CA
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credentials_user_idx ON credentials (user_id);

-- A credential may be installed on several devices (a recovered key-management key on a phone).
CREATE TABLE device_credentials (
  device_id     uuid NOT NULL REFERENCES devices(id),
  credential_id uuid NOT NULL REFERENCES credentials(id),
  installed_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (device_id, credential_id)
);
CREATE INDEX device_credentials_credential_idx ON device_credentials (credential_id);

CREATE TABLE settings (
  key        text PRIMARY KEY,
  value      jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE requests (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind                  text NOT NULL CHECK (kind IN ('issuance', 'replacement', 'mobile_id')),
  reason                text,
  type                  text,
  workflow              text NOT NULL CHECK (workflow IN ('local_issuance', 'self_enrollment', 'remote_issuance')),
  state                 text NOT NULL CHECK (state IN ('submitted', 'approved', 'bound', 'completed', 'rejected', 'cancelled')),
  user_id               uuid NOT NULL REFERENCES users(id),
  target_device_id      uuid REFERENCES devices(id),
  replacement_device_id uuid REFERENCES devices(id),
  submitted_by          uuid REFERENCES users(id),
  approved_by           uuid REFERENCES users(id),
  bound_by              uuid REFERENCES users(id),
  completed_by          uuid REFERENCES users(id),
  cancelled_by          uuid REFERENCES users(id),
  note                  text NOT NULL DEFAULT '',
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requests_user_idx ON requests (user_id);
CREATE INDEX requests_state_idx ON requests (state);

CREATE TABLE issuance_jobs (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  device_id   uuid NOT NULL REFERENCES devices(id),
  user_id     uuid NOT NULL REFERENCES users(id),
  policy_id   uuid NOT NULL REFERENCES device_policies(id),
  request_id  uuid REFERENCES requests(id),
  started_by  uuid REFERENCES users(id),
  status      text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
  progress    integer NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
  step        text NOT NULL DEFAULT '',
  attempt     integer NOT NULL DEFAULT 1,
  options     jsonb NOT NULL DEFAULT '{}'::jsonb,   -- no secrets: PIN mode, layout, workflow
  error       jsonb,                                 -- { code, message, detail, correlationId }
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX issuance_jobs_device_idx ON issuance_jobs (device_id);
CREATE INDEX issuance_jobs_status_idx ON issuance_jobs (status);

-- Append-only, hash-chained audit log. audit_head holds the last link; appending locks it, so
-- concurrent transactions chain in commit order.
CREATE TABLE audit_events (
  seq            bigint PRIMARY KEY,
  at             timestamptz NOT NULL,
  actor_id       uuid,
  actor_name     text NOT NULL,
  action         text NOT NULL,
  target_type    text NOT NULL,
  target_id      text,
  details        jsonb NOT NULL DEFAULT '{}'::jsonb,
  correlation_id text,
  prev_hash      text NOT NULL,
  hash           text NOT NULL
);
CREATE INDEX audit_events_target_idx ON audit_events (target_type, target_id);
CREATE INDEX audit_events_actor_idx ON audit_events (actor_id);

CREATE TABLE audit_head (
  id   integer PRIMARY KEY CHECK (id = 1),
  seq  bigint NOT NULL,
  hash text NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, repeat('0', 64));
