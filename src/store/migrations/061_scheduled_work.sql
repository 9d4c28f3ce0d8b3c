-- Periodic work that one server of several does per period (issue #20): CRL refresh, the end of
-- temporary replacement devices, the sign-in throttle purge… Each server's timer tries to take the
-- period's slot; the row's lock lets exactly one take it, and a slot not taken (its server died)
-- is taken by the next server that looks. Times are the database's clock.
CREATE TABLE scheduled_work (
  name        text PRIMARY KEY,
  next_run_at timestamptz NOT NULL,
  last_run_at timestamptz,
  last_owner  uuid
);
