/**
 * Signing in, in the domain's terms: what a valid request is, and when credentials are accepted. Plain
 * types and functions; no transport, no SQL.
 */
import { randomUUID } from "node:crypto";
import { RequestCheck, UnauthenticatedError } from "@tourmesh/platform";
import { verifyPassword } from "./passwords.js";
import type { Role } from "./roles.js";

export interface User {
  /** Stable and opaque, e.g. `user_3f0c…`: the `sub` of every token the user gets. */
  userId: string;
  username: string;
  passwordHash: string;
  /** What the user may do: the scopes of their tokens. */
  role: Role;
}

export const MAX_USERNAME_LENGTH = 64;
/** Long passphrases are welcome; the bound only stops a request from being a denial-of-service payload. */
export const MAX_PASSWORD_LENGTH = 256;

/** One answer for an unknown user and for a wrong password, so that nobody can probe which users exist. */
export const WRONG_CREDENTIALS = "wrong username or password";

export function newUserId(): string {
  return `user_${randomUUID()}`;
}

export function checkSignIn(request: { username: string; password: string }): void {
  new RequestCheck()
    .text("username", request.username, { max: MAX_USERNAME_LENGTH })
    .text("password", request.password, { max: MAX_PASSWORD_LENGTH })
    .done();
}

/**
 * Accepts `password` for `user`, or throws UNAUTHENTICATED. For an unknown user the password is checked
 * against `dummyHash` (a hash with the same parameters) all the same, so that the answer takes as long as
 * for a known user with a wrong password: the time does not tell which users exist either.
 */
export async function authenticate(
  user: User | undefined,
  password: string,
  dummyHash: string,
): Promise<User> {
  const matches = await verifyPassword(password, user?.passwordHash ?? dummyHash);
  if (user === undefined || !matches) throw new UnauthenticatedError(WRONG_CREDENTIALS);
  return user;
}
