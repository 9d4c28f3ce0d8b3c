-- Which server holds each connected agent's (or wallet's) socket, and what the agent reports now
-- (issue #20): any server lists the readers and printers of agents connected to another, and
-- routes card work to the holder. Written by the holder on each change; a row whose holder's lease
-- ran out is ignored, and goes with the instance's row when that is forgotten.
CREATE TABLE agent_presence (
  agent_id    uuid PRIMARY KEY REFERENCES agents(id) ON DELETE CASCADE,
  instance_id uuid NOT NULL REFERENCES server_instances(id) ON DELETE CASCADE,
  readers     jsonb NOT NULL DEFAULT '[]',
  printers    jsonb NOT NULL DEFAULT '[]',
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agent_presence_instance_idx ON agent_presence (instance_id);
