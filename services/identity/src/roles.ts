/**
 * Roles and what they let a user do. A user has one role; the role's scopes are the `scope` claim of every
 * access token the user gets, and each method's contract names the scopes it requires
 * (`(tourmesh.options.v1.access).scopes`).
 */
export type Role = "traveller" | "operator";

export const ROLES: readonly Role[] = ["traveller", "operator"];

export const roleScopes: Readonly<Record<Role, readonly string[]>> = {
  /** Books tours, reviews the tours they went on, reads their notifications. */
  traveller: ["bookings:read", "bookings:write", "reviews:write", "notifications:read"],
  /** Creates and edits the tours they run, sees how they are booked, reads their notifications (new reviews). */
  operator: ["tours:write", "notifications:read"],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
