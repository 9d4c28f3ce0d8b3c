-- Issuing a replacement from its request (reference 003): a temporary replacement device (a
-- forgotten card) is issued with its policy's short validity, 1-7 days; the device and its
-- certificates end then, and the request's due time makes the expiry job end it.
ALTER TABLE device_policies
  ADD COLUMN temporary_validity_days integer NOT NULL DEFAULT 7
    CHECK (temporary_validity_days BETWEEN 1 AND 7);
CREATE INDEX issuance_jobs_request_idx ON issuance_jobs (request_id) WHERE request_id IS NOT NULL;
