-- The next CRL is built from the previous one's entries plus the certificates whose status changed
-- since (crl-publisher.ts): this index finds those without reading every certificate of the CA.
CREATE INDEX certificates_ca_updated_idx ON certificates (ca_id, updated_at);
