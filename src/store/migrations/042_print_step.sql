-- The print step of issuance (reference 002): a job that encoded and printed its card waits for
-- the operator's confirmation; what was printed is kept with the job; each operator's printer and
-- encoder are remembered per workstation (agent).

ALTER TABLE issuance_jobs DROP CONSTRAINT issuance_jobs_status_check;
ALTER TABLE issuance_jobs ADD CONSTRAINT issuance_jobs_status_check
  CHECK (status IN ('running', 'awaiting_confirmation', 'succeeded', 'failed', 'cancelled'));

-- The document sent to the printer, exactly as sent (the print step shows it; a retry replaces it).
CREATE TABLE issuance_prints (
  job_id      uuid PRIMARY KEY REFERENCES issuance_jobs(id) ON DELETE CASCADE,
  printer_id  text NOT NULL,
  layout_id   uuid,
  ipp_job_id  integer,
  sha256      text NOT NULL,
  pdf         bytea NOT NULL,
  created_at  timestamptz NOT NULL
);

-- "Configure" once: the printer and encoder an operator chose on a workstation, proposed next time.
CREATE TABLE printer_preferences (
  user_id     uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  agent_id    uuid NOT NULL REFERENCES agents(id) ON DELETE CASCADE,
  printer     text NOT NULL,
  encoder     text NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (user_id, agent_id)
);
