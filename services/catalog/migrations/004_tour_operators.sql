-- Up Migration
-- Who runs a tour ('' for the catalog's own tours), and the revision its etag is made of: bumped by every
-- operator's edit, so that an edit based on an older read can be refused (AIP-154).
ALTER TABLE tours
  ADD COLUMN operator_id text NOT NULL DEFAULT '',
  ADD COLUMN revision    integer NOT NULL DEFAULT 1;

-- An operator's tours.
CREATE INDEX tours_by_operator ON tours (operator_id) WHERE operator_id <> '';

-- A tour's occupancy counts its held reservations.
CREATE INDEX reservations_held_by_tour ON reservations (tour_id) WHERE status = 'held';

-- Down Migration
DROP INDEX reservations_held_by_tour;
DROP INDEX tours_by_operator;
ALTER TABLE tours DROP COLUMN revision, DROP COLUMN operator_id;
