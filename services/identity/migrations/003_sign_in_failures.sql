-- Up Migration
-- Failed sign-ins in a row per username, known or not (so that throttling does not tell which users exist),
-- keyed by the lower-cased name as sign-in looks users up. See src/sign-in-throttle.ts for the policy.
CREATE TABLE sign_in_failures (
  username_key    text PRIMARY KEY,
  failures        integer NOT NULL,
  last_failure_at timestamptz NOT NULL,
  locked_until    timestamptz
);

-- Rows are forgotten a while after their last failure; this finds them.
CREATE INDEX sign_in_failures_by_last_failure ON sign_in_failures (last_failure_at);

-- Down Migration
DROP TABLE sign_in_failures;
