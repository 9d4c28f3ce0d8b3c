-- Sign-in throttling (decision 0022): failures of a guessable secret are counted per name, per
-- source address and per name-and-address, whether or not the name exists, and each attempt is
-- decided under the locks of its three rows before the slow hash (store/sign-in-throttle-repo.ts).
-- Replaces the per-person lock counters, which were read before the hash and written back after it.
CREATE TABLE sign_in_throttles (
  -- Which secret: password (operator), initial_password, security_questions, directory_password.
  secret          text NOT NULL,
  scope           text NOT NULL CHECK (scope IN ('name', 'address', 'name_address')),
  -- The name as typed (lower case), the address, or both joined by a space.
  subject         text NOT NULL,
  name            text,
  address         text,
  failures        integer NOT NULL DEFAULT 0,
  last_failure_at timestamptz,
  -- Attempts before this time are refused unseen (null: no delay in force).
  next_at         timestamptz,
  -- name_address only: this name has signed in from this address, which then ignores the name's
  -- own (all-addresses) count — so nobody can keep a person out from where they usually sign in.
  trusted         boolean NOT NULL DEFAULT false,
  PRIMARY KEY (secret, scope, subject)
);
CREATE INDEX sign_in_throttles_next_at ON sign_in_throttles (next_at);
CREATE INDEX sign_in_throttles_name ON sign_in_throttles (name);

DROP TABLE portal_auth_failures;
ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
