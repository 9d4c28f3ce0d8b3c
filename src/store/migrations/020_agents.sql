-- Workstation agents and the one-time codes that pair them to a person (an operator, or a user in
-- the portal). Only SHA-256 hashes of bearer tokens and pairing codes are stored.

CREATE TABLE agents (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_user_id uuid NOT NULL REFERENCES users(id),
  owner_kind    text NOT NULL CHECK (owner_kind IN ('operator', 'portal')),
  name          text NOT NULL,
  hostname      text NOT NULL DEFAULT '',
  token_hash    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  last_seen_at  timestamptz,
  revoked_at    timestamptz,
  demo          boolean NOT NULL DEFAULT false
);
CREATE UNIQUE INDEX agents_token_hash_key ON agents (token_hash);
CREATE INDEX agents_owner_idx ON agents (owner_user_id);

CREATE TABLE agent_pairing_codes (
  code_hash     text PRIMARY KEY,
  owner_user_id uuid NOT NULL REFERENCES users(id),
  owner_kind    text NOT NULL CHECK (owner_kind IN ('operator', 'portal')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz NOT NULL,
  used_at       timestamptz,
  agent_id      uuid REFERENCES agents(id)
);
CREATE INDEX agent_pairing_codes_owner_idx ON agent_pairing_codes (owner_user_id);
