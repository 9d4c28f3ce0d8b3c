-- Several `tessera serve` processes on one PostgreSQL (issue #20, docs/operations.md): each process
-- registers here with a lease it renews (its heartbeat). A process whose lease ran out is dead to
-- the others: the issuance jobs it owned are failed as interrupted by whichever server claims them
-- first (FOR UPDATE SKIP LOCKED), and nobody else's. Times are the database's own (now()), so the
-- servers' clocks need not agree.
CREATE TABLE server_instances (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  pid integer NOT NULL,
  version text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  lease_until timestamptz NOT NULL,
  stopped_at timestamptz
);

-- The process that runs a job (or is to claim it: awaiting_owner, a job queued for the server that
-- holds the card's agent). NULL: a job from before this migration, owned by nobody alive.
ALTER TABLE issuance_jobs ADD COLUMN owner_instance uuid;
ALTER TABLE issuance_jobs ADD COLUMN awaiting_owner boolean NOT NULL DEFAULT false;
CREATE INDEX issuance_jobs_running_owner ON issuance_jobs (owner_instance) WHERE status = 'running';
