import type { Pool } from "@tourmesh/platform";
import { isRole, type Role } from "./roles.js";
import { newUserId, type User } from "./sign-in.js";

interface UserRow {
  user_id: string;
  username: string;
  password_hash: string;
  role: string;
}

/** The users table. */
export class UserStore {
  constructor(private readonly db: Pool) {}

  /** The user of that name, whatever its case; undefined when there is none. */
  async findByUsername(username: string): Promise<User | undefined> {
    const { rows } = await this.db.query<UserRow>({
      name: "find-user-by-username",
      text: "SELECT user_id, username, password_hash, role FROM users WHERE lower(username) = lower($1)",
      values: [username],
    });
    const row = rows[0];
    if (!row) return undefined;
    // The column's CHECK admits only known roles; a role this code does not know is a deployment error.
    if (!isRole(row.role)) throw new Error(`user ${row.user_id} has the unknown role ${row.role}`);
    return { userId: row.user_id, username: row.username, passwordHash: row.password_hash, role: row.role };
  }

  /** Adds a user unless the name is taken; returns whether it was added. */
  async addUser(username: string, passwordHash: string, role: Role): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `INSERT INTO users (user_id, username, password_hash, role) VALUES ($1, $2, $3, $4)
       ON CONFLICT ((lower(username))) DO NOTHING`,
      [newUserId(), username, passwordHash, role],
    );
    return rowCount === 1;
  }
}
