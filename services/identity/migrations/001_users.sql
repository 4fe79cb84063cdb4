-- Up Migration
CREATE TABLE users (
  user_id       text PRIMARY KEY,
  username      text NOT NULL,
  -- A self-describing KDF string (algorithm, parameters, salt, hash): see src/passwords.ts.
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

-- Usernames are unique and looked up regardless of case ("Alice" signs in as "alice").
CREATE UNIQUE INDEX users_by_username ON users (lower(username));

-- Down Migration
DROP TABLE users;
