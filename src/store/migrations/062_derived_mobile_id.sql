-- Derived credentials (NIST SP 800-157, issue #15, decision "derived mobile ID"): a mobile ID policy
-- that requires the PIV card (require_card, migration 058) has the person prove possession of their
-- active card before ordering, and the mobile ID then follows that card. card_end says what the
-- card's termination (with no card taking its place) does to it: suspend or revoke.
ALTER TABLE mobile_id_policies ADD COLUMN card_end text NOT NULL DEFAULT 'suspend'
  CHECK (card_end IN ('suspend', 'revoke'));

-- derived_from: the PIV card (device) the mobile ID is derived from; re-bound to the new card when
-- that one is replaced. card_hold: the mobile ID is suspended because of its card (the card
-- suspended, or ended with no card taking its place), not by an operator: the card's return lifts it.
ALTER TABLE mobile_ids ADD COLUMN derived_from uuid REFERENCES devices(id);
ALTER TABLE mobile_ids ADD COLUMN card_hold text CHECK (card_hold IN ('card_suspended', 'card_terminated'));
CREATE INDEX mobile_ids_derived_from_idx ON mobile_ids (derived_from) WHERE derived_from IS NOT NULL;

-- The one-time challenge the person's card signs with its 9A key (GENERAL AUTHENTICATE) before a
-- derived mobile ID is ordered: random, short-lived, bound to the person, used once.
CREATE TABLE mobile_id_card_challenges (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     uuid NOT NULL REFERENCES users(id),
  challenge   text NOT NULL,
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL
);
CREATE INDEX mobile_id_card_challenges_user_idx ON mobile_id_card_challenges (user_id);
