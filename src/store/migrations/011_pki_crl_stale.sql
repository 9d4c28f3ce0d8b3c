-- A status change marks its CA's CRL stale in the same transaction, so a CRL that could not be
-- re-signed right after the change (database hiccup, process stopped) is re-signed on the next
-- request or scheduler tick instead of waiting for half its validity to pass.
ALTER TABLE ca_crls ADD COLUMN stale boolean NOT NULL DEFAULT false;
