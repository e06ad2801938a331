-- 0002: what the dashboard shows and filters by. The platforms of an index on the primary, as a
-- JSON array of strings (NULL when not read), and indexes for the runs still going on and for
-- the tag rows of a run by result.

ALTER TABLE run_tags ADD COLUMN platforms TEXT CHECK (platforms IS NULL OR json_valid(platforms));

CREATE INDEX runs_status ON runs (status, created_at DESC);

CREATE INDEX run_tags_result ON run_tags (run_id, result, repository, tag);
