-- Remote issuance (reference 003, docs/mobile.md "Remote issuance"): a help-desk replacement request
-- for a phone is enrolled on the person's new wallet with a one-time link made for that request. The
-- link's purpose says so and names the request; once redeemed, the wallet that used it (agent_id) may
-- start the request's issuance.
ALTER TABLE wallet_link_codes DROP CONSTRAINT wallet_link_codes_purpose_check;
ALTER TABLE wallet_link_codes ADD CONSTRAINT wallet_link_codes_purpose_check
  CHECK (purpose IN ('self_issuance', 'operator_issuance', 'remote_issuance'));
ALTER TABLE wallet_link_codes ADD COLUMN request_id uuid REFERENCES requests(id);
CREATE INDEX wallet_link_codes_request_idx ON wallet_link_codes (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX wallet_link_codes_agent_idx ON wallet_link_codes (agent_id) WHERE agent_id IS NOT NULL;
