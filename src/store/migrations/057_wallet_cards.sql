-- Which card a linked wallet holds (docs/mobile.md "A wallet reset"): the serial its card had when it
-- last linked or connected. A wallet that comes back with the same token but another serial lost its
-- card (reset, or its storage wiped): the server ends what that card held.
-- (Landed first as 056_wallet_cards.sql, beside 056_mail_outbox.sql: renumbered; IF NOT EXISTS lets a
-- database that ran it under the old name take this one.)
CREATE TABLE IF NOT EXISTS wallet_cards (
  agent_id    uuid PRIMARY KEY REFERENCES agents(id),
  serial      text NOT NULL,
  updated_at  timestamptz NOT NULL
);
