-- Up Migration
-- What a user may do: the role's scopes go into every access token the user gets (see src/roles.ts).
ALTER TABLE users ADD COLUMN role text NOT NULL DEFAULT 'traveller' CHECK (role IN ('traveller', 'operator'));

-- Down Migration
ALTER TABLE users DROP COLUMN role;
