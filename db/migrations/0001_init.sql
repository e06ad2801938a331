-- 0001: runs, their per-repository and per-tag results, and the latest result of every
-- repository. Times are UTC text in one fixed-width form, so they sort as they compare.

CREATE TABLE runs (
	id                INTEGER PRIMARY KEY,
	mode              TEXT    NOT NULL,
	"trigger"         TEXT    NOT NULL,
	scope             TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(scope)),
	deep              INTEGER NOT NULL CHECK (deep IN (0, 1)),
	no_delete         INTEGER NOT NULL CHECK (no_delete IN (0, 1)),
	status            TEXT    NOT NULL,
	outcome           TEXT    NOT NULL DEFAULT '',
	error             TEXT    NOT NULL DEFAULT '',
	created_at        TEXT    NOT NULL,
	started_at        TEXT,
	finished_at       TEXT,
	repos_total       INTEGER NOT NULL DEFAULT 0,
	repos_done        INTEGER NOT NULL DEFAULT 0,
	repositories      INTEGER NOT NULL DEFAULT 0,
	tags              INTEGER NOT NULL DEFAULT 0,
	in_sync           INTEGER NOT NULL DEFAULT 0,
	only_on_primary   INTEGER NOT NULL DEFAULT 0,
	only_on_secondary INTEGER NOT NULL DEFAULT 0,
	stale             INTEGER NOT NULL DEFAULT 0,
	broken            INTEGER NOT NULL DEFAULT 0,
	unresolved        INTEGER NOT NULL DEFAULT 0,
	actions           INTEGER NOT NULL DEFAULT 0,
	failed_actions    INTEGER NOT NULL DEFAULT 0,
	skipped_actions   INTEGER NOT NULL DEFAULT 0,
	errors            INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Run listings go newest first.
CREATE INDEX runs_newest ON runs (created_at DESC, id DESC);

-- The after_* counts are all NULL when the run did not verify (a dry run), or all set.
CREATE TABLE run_repos (
	run_id                   INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
	name                     TEXT    NOT NULL,
	status                   TEXT    NOT NULL,
	error                    TEXT    NOT NULL DEFAULT '',
	before_in_sync           INTEGER NOT NULL DEFAULT 0,
	before_only_on_primary   INTEGER NOT NULL DEFAULT 0,
	before_only_on_secondary INTEGER NOT NULL DEFAULT 0,
	before_stale             INTEGER NOT NULL DEFAULT 0,
	before_broken            INTEGER NOT NULL DEFAULT 0,
	before_unresolved        INTEGER NOT NULL DEFAULT 0,
	after_in_sync            INTEGER,
	after_only_on_primary    INTEGER,
	after_only_on_secondary  INTEGER,
	after_stale              INTEGER,
	after_broken             INTEGER,
	after_unresolved         INTEGER,
	actions                  INTEGER NOT NULL DEFAULT 0,
	failed_actions           INTEGER NOT NULL DEFAULT 0,
	skipped_actions          INTEGER NOT NULL DEFAULT 0,
	checked_at               TEXT    NOT NULL,
	UNIQUE (run_id, name),
	CHECK ((after_in_sync IS NULL) = (after_only_on_primary IS NULL)
		AND (after_in_sync IS NULL) = (after_only_on_secondary IS NULL)
		AND (after_in_sync IS NULL) = (after_stale IS NULL)
		AND (after_in_sync IS NULL) = (after_broken IS NULL)
		AND (after_in_sync IS NULL) = (after_unresolved IS NULL))
) STRICT;

-- The runs that touched a repository, newest first.
CREATE INDEX run_repos_name ON run_repos (name, run_id DESC);

-- missing is NULL or a JSON array of strings. The UNIQUE constraint's index also serves
-- lookups by (run_id, repository), ordered by tag.
CREATE TABLE run_tags (
	run_id               INTEGER NOT NULL,
	repository           TEXT    NOT NULL,
	tag                  TEXT    NOT NULL,
	state                TEXT    NOT NULL,
	primary_digest       TEXT    NOT NULL DEFAULT '',
	primary_media_type   TEXT    NOT NULL DEFAULT '',
	secondary_digest     TEXT    NOT NULL DEFAULT '',
	secondary_media_type TEXT    NOT NULL DEFAULT '',
	missing              TEXT    CHECK (missing IS NULL OR json_valid(missing)),
	action               TEXT    NOT NULL DEFAULT '',
	result               TEXT    NOT NULL DEFAULT '',
	error                TEXT    NOT NULL DEFAULT '',
	verified_state       TEXT    NOT NULL DEFAULT '',
	UNIQUE (run_id, repository, tag),
	FOREIGN KEY (run_id, repository) REFERENCES run_repos (run_id, name) ON DELETE CASCADE
) STRICT;

-- Tag rows of a run in one state, in the same order as the unfiltered listing.
CREATE INDEX run_tags_state ON run_tags (run_id, state, repository, tag);

-- The latest result of every repository, kept by SaveRepoResult, so the repository list
-- reads one small row per repository instead of scanning run_repos. Its counts are the
-- verified ones when the run verified, else the ones found. status_rank and drift give the
-- worst-first order and are indexed in it.
CREATE TABLE repos_latest (
	name              TEXT    PRIMARY KEY,
	status            TEXT    NOT NULL,
	error             TEXT    NOT NULL DEFAULT '',
	in_sync           INTEGER NOT NULL DEFAULT 0,
	only_on_primary   INTEGER NOT NULL DEFAULT 0,
	only_on_secondary INTEGER NOT NULL DEFAULT 0,
	stale             INTEGER NOT NULL DEFAULT 0,
	broken            INTEGER NOT NULL DEFAULT 0,
	unresolved        INTEGER NOT NULL DEFAULT 0,
	run_id            INTEGER NOT NULL,
	checked_at        TEXT    NOT NULL,
	status_rank       INTEGER GENERATED ALWAYS AS (
		CASE status WHEN 'error' THEN 0 WHEN 'drift' THEN 1 WHEN 'in_sync' THEN 2 ELSE 3 END
	) VIRTUAL,
	drift             INTEGER GENERATED ALWAYS AS (
		only_on_primary + only_on_secondary + stale + broken
	) VIRTUAL,
	FOREIGN KEY (run_id, name) REFERENCES run_repos (run_id, name) ON DELETE CASCADE
) STRICT;

CREATE INDEX repos_latest_worst ON repos_latest (status_rank, drift DESC, name);
