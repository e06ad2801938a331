-- 0005: a queued run may be held back until not_before (UTC text like every time, or NULL for
-- at once), so that the notifications of one push join one run before it starts.

ALTER TABLE runs ADD COLUMN not_before TEXT;
