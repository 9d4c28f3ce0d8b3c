-- Directory and user-portal authentication: the LDAP connection, security questions and answers,
-- initial passwords, and per-method failure counters for portal sign-in.

-- One directory connection. The bind password is encrypted with the master key (purpose
-- "directory-bind-password"); everything else is plain configuration.
CREATE TABLE directory_config (
  id            integer PRIMARY KEY CHECK (id = 1),
  config        jsonb NOT NULL,
  bind_password bytea,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- Set by a directory sync when a user's entry disappeared (and the user was suspended for it), so a
-- reappearing entry reactivates exactly the people the sync suspended, not those an operator did.
ALTER TABLE users ADD COLUMN directory_removed_at timestamptz;
CREATE INDEX users_external_idx ON users (source, external_id);

CREATE TABLE security_questions (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  text       text NOT NULL,
  active     boolean NOT NULL DEFAULT true,
  position   integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX security_questions_text_key ON security_questions (lower(text));

-- Only a salted scrypt hash of the normalized answer (domain normalizeAnswer) is kept.
CREATE TABLE security_answers (
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  question_id uuid NOT NULL REFERENCES security_questions(id),
  answer_hash text NOT NULL,
  position    integer NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, question_id)
);

CREATE TABLE initial_passwords (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id       uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  password_hash text NOT NULL,
  status        text NOT NULL DEFAULT 'outstanding'
                CHECK (status IN ('outstanding', 'consumed', 'burnt', 'superseded', 'expired')),
  attempts      integer NOT NULL DEFAULT 0,
  max_attempts  integer NOT NULL,
  issued_by     uuid REFERENCES users(id),
  issued_at     timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  finished_at   timestamptz
);
-- At most one outstanding initial password per person: issuing a new one supersedes the old.
CREATE UNIQUE INDEX initial_passwords_outstanding_key ON initial_passwords (user_id) WHERE status = 'outstanding';

-- Failed portal sign-ins per person and method (security questions, directory password); the
-- initial password counts its attempts on its own row.
CREATE TABLE portal_auth_failures (
  user_id      uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  method       text NOT NULL,
  failures     integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  PRIMARY KEY (user_id, method)
);
