/**
 * Throttling of failed sign-ins per username, whoever makes them and from wherever: password guessing against
 * one account is slowed, then refused for a while, and never locks the account for good.
 *
 * The policy: the first FREE_FAILURES failures in a row cost nothing. Each failure after them locks the name
 * for a doubling time, 1 s, 2 s, 4 s, ... up to MAX_LOCK_MS (15 minutes). While the name is locked, an
 * attempt is refused with RESOURCE_EXHAUSTED and the time left, without its password being checked, and it
 * does not count as a failure or extend the lock. A successful sign-in clears the count; so does an hour
 * without failures. A stranger can therefore keep a name locked only by failing again each time its lock
 * ends, at most four times an hour once at the cap, and each lock ends on its own.
 */

/** Failures in a row that cost nothing: typing mistakes. */
export const FREE_FAILURES = 5;
export const FIRST_LOCK_MS = 1_000;
export const MAX_LOCK_MS = 15 * 60_000;
/** A name's failures are forgotten this long after its last one. */
export const FORGET_FAILURES_AFTER_MS = 60 * 60_000;

/** How long a name is locked after its `failures`-th failure in a row. */
export function lockAfterFailures(failures: number): number {
  if (failures <= FREE_FAILURES) return 0;
  const doublings = failures - FREE_FAILURES - 1;
  // Past 2^20 the cap has long been reached; the bound keeps the power finite.
  return Math.min(FIRST_LOCK_MS * 2 ** Math.min(doublings, 20), MAX_LOCK_MS);
}

/** The key a username is throttled under: sign-in finds users regardless of case, so "Alice" is "alice". */
export function throttleKey(username: string): string {
  return username.toLowerCase();
}
