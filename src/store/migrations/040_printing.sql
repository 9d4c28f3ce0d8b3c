-- Card printing (reference 002): card layouts, people's photos, and (later files) printers and
-- print jobs.

-- A layout's definition is the domain's LayoutDefinition (src/domain/card-layout.ts) as JSON: its
-- elements are read and written whole, never queried one by one.
CREATE TABLE card_layouts (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL,
  description text NOT NULL DEFAULT '',
  definition  jsonb NOT NULL,
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX card_layouts_name_key ON card_layouts (lower(name));

-- Photos are stored once, by the SHA-256 of their bytes: a person points at theirs, and the same
-- picture uploaded again (or synced from the directory every night) is not stored twice.
CREATE TABLE photos (
  sha256       text PRIMARY KEY,
  content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
  width        integer NOT NULL,
  height       integer NOT NULL,
  data         bytea NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE users ADD COLUMN photo_sha256 text REFERENCES photos(sha256);
