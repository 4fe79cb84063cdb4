-- Up Migration
CREATE TABLE tours (
  tour_id          text PRIMARY KEY,
  title            text NOT NULL,
  description      text NOT NULL,
  destination      text NOT NULL,
  start_time       timestamptz NOT NULL,
  duration_minutes integer NOT NULL CHECK (duration_minutes > 0),
  price_currency   char(3) NOT NULL,
  price_minor      bigint NOT NULL CHECK (price_minor > 0),
  capacity         integer NOT NULL CHECK (capacity > 0),
  -- The database itself refuses an oversold tour, whatever the code does.
  seats_available  integer NOT NULL CHECK (seats_available BETWEEN 0 AND capacity),
  rating_sum       bigint NOT NULL DEFAULT 0,
  rating_count     integer NOT NULL DEFAULT 0
);

-- ListTours filters by destination and pages by (start_time, tour_id).
CREATE INDEX tours_by_destination ON tours (lower(destination), start_time, tour_id);
CREATE INDEX tours_by_start ON tours (start_time, tour_id);

CREATE TABLE reservations (
  reservation_id text PRIMARY KEY,
  tour_id        text NOT NULL REFERENCES tours (tour_id),
  seats          integer NOT NULL CHECK (seats > 0),
  status         text NOT NULL CHECK (status IN ('held', 'released')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  released_at    timestamptz
);

-- Down Migration
DROP TABLE reservations;
DROP TABLE tours;
