-- The mail outbox (DESIGN.md notify/): every e-mail Tessera sends is first a row here, written in
-- the same transaction as the change that causes it, then sent by a worker. The message itself
-- (text, HTML, attachments: it may carry an initial password) is kept encrypted under the master
-- key and dropped once sent; recipient and subject stay for the administrator's view.
-- status: queued (waiting, maybe after failed attempts) → sending (claimed by one worker until
-- claimed_until) → sent | failed (refused for good, or gave up). A claim that outlives its lease
-- without an outcome is not retried automatically: the server may have taken the message, and a
-- message is never sent twice unless an administrator asks for it again.
CREATE TABLE mail_outbox (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind             text NOT NULL,
  recipient        text NOT NULL,
  subject          text NOT NULL,
  user_id          uuid REFERENCES users(id),
  payload          bytea,
  status           text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sending', 'sent', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  max_attempts     integer NOT NULL,
  created_at       timestamptz NOT NULL,
  next_attempt_at  timestamptz NOT NULL,
  claimed_by       text,
  claimed_until    timestamptz,
  sent_at          timestamptz,
  failed_at        timestamptz,
  last_error       text
);
CREATE INDEX mail_outbox_due_idx ON mail_outbox (next_attempt_at, id) WHERE status = 'queued';
CREATE INDEX mail_outbox_sending_idx ON mail_outbox (claimed_until) WHERE status = 'sending';
CREATE INDEX mail_outbox_created_idx ON mail_outbox (created_at DESC, id);
CREATE INDEX mail_outbox_user_idx ON mail_outbox (user_id, created_at DESC);
