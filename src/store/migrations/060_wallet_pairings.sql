-- A phone's wallet used as the smart card of a workstation (docs/mobile.md "Use at a workstation"):
-- a workstation agent asks to pair with its person's wallet, the person allows it on the phone, and
-- from then on the agent relays the workstation's APDUs to the wallet. Either side may end it.
-- The code is a comparison value (the same digits on both screens), not a secret.
CREATE TABLE wallet_pairings (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  wallet_agent_id       uuid NOT NULL REFERENCES agents(id),
  workstation_agent_id  uuid NOT NULL REFERENCES agents(id),
  owner_user_id         uuid NOT NULL REFERENCES users(id),
  state                 text NOT NULL CHECK (state IN ('pending', 'active', 'refused', 'revoked')),
  code                  text NOT NULL,
  created_at            timestamptz NOT NULL,
  expires_at            timestamptz NOT NULL,
  decided_at            timestamptz,
  ended_at              timestamptz,
  ended_by              text CHECK (ended_by IN ('phone', 'workstation', 'server'))
);
CREATE INDEX wallet_pairings_wallet_idx ON wallet_pairings (wallet_agent_id);
CREATE INDEX wallet_pairings_workstation_idx ON wallet_pairings (workstation_agent_id);
