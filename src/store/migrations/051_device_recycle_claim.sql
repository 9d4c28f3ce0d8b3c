-- Recycling talks to the card for seconds before the device row changes: two recycles of one card at
-- once would both wipe it, and the loser failed on the card (502) instead of being told the device is
-- taken. The first recycle claims the device here before opening the card; the second gets a 409.
-- A claim is a lease: one left by a server that died mid-recycle is ignored once it is old.
ALTER TABLE devices ADD COLUMN recycle_claimed_at timestamptz;
