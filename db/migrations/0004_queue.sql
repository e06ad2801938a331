-- 0004: the durable run queue. A run counts the times it was interrupted and resumed, and
-- the requests that joined it while it was queued. A repository result is finished once its
-- actions are done; a resumed run does again only the repositories that are not. Results
-- stored before this migration were all finished.

ALTER TABLE runs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;
ALTER TABLE runs ADD COLUMN coalesced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE run_repos ADD COLUMN finished INTEGER NOT NULL DEFAULT 1 CHECK (finished IN (0, 1));

-- The queue reads waiting runs oldest first.
CREATE INDEX runs_waiting ON runs (status, id) WHERE status IN ('queued', 'interrupted');
