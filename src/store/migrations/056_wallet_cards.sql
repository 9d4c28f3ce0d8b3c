-- Which card a linked wallet holds (docs/mobile.md "A wallet reset"): the serial its card had when it
-- last linked or connected. A wallet that comes back with the same token but another serial lost its
-- card (reset, or its storage wiped): the server ends what that card held.
CREATE TABLE wallet_cards (
  agent_id    uuid PRIMARY KEY REFERENCES agents(id),
  serial      text NOT NULL,
  updated_at  timestamptz NOT NULL
);
