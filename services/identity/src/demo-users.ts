import { hashPassword } from "./passwords.js";
import type { UserStore } from "./user-store.js";

/** The local demo users of DESIGN.md. Seeded only when SEED_DEMO_USERS=true: never in the cluster. */
export const DEMO_USERNAMES = ["alice", "bob"] as const;
export const DEMO_PASSWORD = "tourmesh-demo";

/** Adds the demo users that do not exist yet (a restart keeps their ids); returns the names added. */
export async function seedDemoUsers(users: UserStore): Promise<string[]> {
  const added: string[] = [];
  for (const username of DEMO_USERNAMES) {
    if (await users.findByUsername(username)) continue;
    if (await users.addUser(username, await hashPassword(DEMO_PASSWORD))) added.push(username);
  }
  return added;
}
