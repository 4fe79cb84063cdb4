-- Up Migration
-- The seat-count CHECK gets a name of its own, so that the store can tell an oversell from any other error.
ALTER TABLE tours RENAME CONSTRAINT tours_check TO tours_seats_within_capacity;

-- Down Migration
ALTER TABLE tours RENAME CONSTRAINT tours_seats_within_capacity TO tours_check;
