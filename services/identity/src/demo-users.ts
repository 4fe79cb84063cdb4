import { hashPassword } from "./passwords.js";
import type { Role } from "./roles.js";
import type { UserStore } from "./user-store.js";

/**
 * The local demo users of DESIGN.md: two travellers and a tour operator. Seeded only when SEED_DEMO_USERS=true:
 * never in the cluster.
 */
export const DEMO_USERS: Readonly<Record<string, Role>> = {
  alice: "traveller",
  bob: "traveller",
  olga: "operator",
};
export const DEMO_USERNAMES = Object.keys(DEMO_USERS);
export const DEMO_PASSWORD = "tourmesh-demo";

/** Adds the demo users that do not exist yet (a restart keeps their ids); returns the names added. */
export async function seedDemoUsers(users: UserStore): Promise<string[]> {
  const added: string[] = [];
  for (const [username, role] of Object.entries(DEMO_USERS)) {
    if (await users.findByUsername(username)) continue;
    if (await users.addUser(username, await hashPassword(DEMO_PASSWORD), role)) added.push(username);
  }
  return added;
}
