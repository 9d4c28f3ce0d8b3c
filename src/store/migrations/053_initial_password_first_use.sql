-- An initial password stays good after its first use until the person has finished what it was
-- for (security answers set, or a card issued to themselves), within its validity: a browser closed
-- half-way through the first sign-in must not lock the person out (issue #19, item 1).
ALTER TABLE initial_passwords ADD COLUMN first_used_at timestamptz;
