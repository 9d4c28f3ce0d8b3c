-- The phone's wallet (a mobile smart card) connects like an agent with one reader, "<person>'s
-- phone": an agents row of kind 'wallet', owned by the person. An operator who issues to that phone
-- from the User page may drive it too (operator_user_id). Wallets link with one-time codes: the link
-- carries "<id>.<secret>"; only the secret's SHA-256 is stored, wrong secrets are counted per code.

ALTER TABLE agents DROP CONSTRAINT agents_owner_kind_check;
ALTER TABLE agents ADD CONSTRAINT agents_owner_kind_check CHECK (owner_kind IN ('operator', 'portal', 'wallet'));
ALTER TABLE agents ADD COLUMN operator_user_id uuid REFERENCES users(id);

CREATE TABLE wallet_link_codes (
  id               text PRIMARY KEY,
  secret_hash      text NOT NULL,
  person_user_id   uuid NOT NULL REFERENCES users(id),
  purpose          text NOT NULL CHECK (purpose IN ('self_issuance', 'operator_issuance')),
  requested_by     uuid NOT NULL REFERENCES users(id),
  created_at       timestamptz NOT NULL,
  expires_at       timestamptz NOT NULL,
  used_at          timestamptz,
  failed_attempts  integer NOT NULL DEFAULT 0,
  agent_id         uuid REFERENCES agents(id)
);
CREATE INDEX wallet_link_codes_person_idx ON wallet_link_codes (person_user_id);
