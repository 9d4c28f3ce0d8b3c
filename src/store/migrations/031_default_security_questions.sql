-- A starting list of security questions, so that a new installation's user portal can ask people
-- to set their answers at once (the default settings require 3). Administrators replace or
-- deactivate them on the Security questions page; an installation that already has questions
-- keeps its own. Only a new installation is seeded (no users yet: migrations run before the first
-- administrator is created), so one whose administrator deleted every question stays empty.
-- (Edited in place: the migration runner records names, not checksums, and where 031 already ran
-- it seeded an empty list, the case this condition now leaves alone.)
INSERT INTO security_questions (text, active, position)
SELECT q.text, true, q.position
FROM (VALUES
  ('What was the name of your first pet?', 0),
  ('In which town or city were you born?', 1),
  ('What was the name of your first school?', 2),
  ('What is the first name of your oldest cousin?', 3),
  ('What was the make of your first car or bicycle?', 4),
  ('In which street did you live when you were ten?', 5)
) AS q(text, position)
WHERE NOT EXISTS (SELECT 1 FROM security_questions)
  AND NOT EXISTS (SELECT 1 FROM users);
