-- 0003: the deletion guard. A run records whether it allowed mass deletion, the guard's
-- limits and verdict (a JSON object, regdrift.Guard) and how many deletions the guard held
-- back; a repository result records its own held-back deletions.

ALTER TABLE runs ADD COLUMN allow_mass_delete INTEGER NOT NULL DEFAULT 0
	CHECK (allow_mass_delete IN (0, 1));
ALTER TABLE runs ADD COLUMN guard TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(guard));
ALTER TABLE runs ADD COLUMN held_back INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_repos ADD COLUMN held_back INTEGER NOT NULL DEFAULT 0;
