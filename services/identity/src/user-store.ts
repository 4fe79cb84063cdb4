import type { Pool } from "@tourmesh/platform";
import { newUserId, type User } from "./sign-in.js";

interface UserRow {
  user_id: string;
  username: string;
  password_hash: string;
}

/** The users table. */
export class UserStore {
  constructor(private readonly db: Pool) {}

  /** The user of that name, whatever its case; undefined when there is none. */
  async findByUsername(username: string): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>({
      name: "find-user-by-username",
      text: "SELECT user_id, username, password_hash FROM users WHERE lower(username) = lower($1)",
      values: [username],
    });
    const row = rows[0];
    return row && { userId: row.user_id, username: row.username, passwordHash: row.password_hash };
  }

  /** Adds a user unless the name is taken; returns whether it was added. */
  async addUser(username: string, passwordHash: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO users (user_id, username, password_hash) VALUES ($1, $2, $3)
       ON CONFLICT ((lower(username))) DO NOTHING`,
      [newUserId(), username, passwordHash],
    );
    return rowCount === 1;
  }
}
