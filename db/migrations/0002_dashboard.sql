-- 0002: what the dashboard shows and filters by. The platforms of an index on the primary, as a
-- JSON array of strings (NULL when not read), and indexes for the runs still going on and for
-- the tag rows of a run by result.

ALTER TABLE run_tags ADD COLUMN platforms TEXT CHECK (platforms IS NULL OR json_valid(platforms));

CREATE INDEX runs_status ON runs (status, created_at DESC);

CREATE INDEX run_tags_result ON run_tags (run_id, result, repository, tag);

-- The rows a run page shows by default (TagDrift.Notable; db.notableSQL is the same text, so
-- that the planner uses this index): a run over a healthy registry holds few of them, and
-- counting them must not read every row of the run.
CREATE INDEX run_tags_notable ON run_tags (run_id, repository, tag)
	WHERE (state != 'in_sync' OR action NOT IN ('', 'none') OR result != ''
	OR error != '' OR verified_state NOT IN ('', 'in_sync'));
