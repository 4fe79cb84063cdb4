-- Up Migration
CREATE TABLE reviews (
  review_id  text PRIMARY KEY,
  -- Insertion order: ListReviews pages newest first by it.
  seq        bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
  tour_id    text NOT NULL,
  user_id    text NOT NULL,
  -- The reviewer's display name when they wrote it.
  author     text NOT NULL,
  rating     integer NOT NULL CHECK (rating BETWEEN 1 AND 5),
  comment    text NOT NULL CHECK (char_length(comment) <= 2000),
  created_at timestamptz NOT NULL DEFAULT now(),
  -- One review per traveller and tour, however many requests race to write it.
  UNIQUE (user_id, tour_id)
);

CREATE INDEX reviews_by_tour ON reviews (tour_id, seq DESC);

-- Down Migration
DROP TABLE reviews;
