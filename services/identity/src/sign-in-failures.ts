import type { Pool } from "@tourmesh/platform";
import { FORGET_FAILURES_AFTER_MS, lockAfterFailures } from "./sign-in-throttle.js";

/** The sign_in_failures table: failed sign-ins in a row per username key, and the lock they earned. */
export class SignInFailures {
  constructor(private readonly db: Pool) {}

  /** Milliseconds until the name may try again; 0 when it is not locked. */
  async lockedForMs(key: string): Promise<number> {
    const { rows } = await this.db.query<{ left_ms: number }>({
      name: "sign-in-lock",
      text: `SELECT ceil(extract(epoch FROM locked_until - now()) * 1000)::int AS left_ms
             FROM sign_in_failures WHERE username_key = $1 AND locked_until > now()`,
      values: [key],
    });
    return rows[0]?.left_ms ?? 0;
  }

  /** Counts one more failure (a first one if the last was long ago), locks the name as the policy says. */
  async recordFailure(key: string): Promise<void> {
    const { rows } = await this.db.query<{ failures: number }>({
      name: "sign-in-failure",
      text: `INSERT INTO sign_in_failures (username_key, failures, last_failure_at) VALUES ($1, 1, now())
             ON CONFLICT (username_key) DO UPDATE SET
               failures = CASE WHEN sign_in_failures.last_failure_at < now() - $2 * interval '1 millisecond'
                               THEN 1 ELSE sign_in_failures.failures + 1 END,
               last_failure_at = now()
             RETURNING failures`,
      values: [key, FORGET_FAILURES_AFTER_MS],
    });
    const lockMs = lockAfterFailures(rows[0]?.failures ?? 1);
    if (lockMs > 0) {
      await this.db.query({
        name: "sign-in-lock-set",
        text: `UPDATE sign_in_failures SET locked_until = now() + $2 * interval '1 millisecond'
               WHERE username_key = $1`,
        values: [key, lockMs],
      });
    }
    // Names that failed long ago, most of them strangers' guesses at names, are dropped as others fail.
    await this.db.query({
      name: "sign-in-failures-forget",
      text: `DELETE FROM sign_in_failures
             WHERE last_failure_at < now() - $1 * interval '1 millisecond' AND coalesce(locked_until < now(), true)`,
      values: [FORGET_FAILURES_AFTER_MS],
    });
  }

  /** After a successful sign-in: the name starts again from no failures. */
  async clear(key: string): Promise<void> {
    await this.db.query({
      name: "sign-in-failures-clear",
      text: "DELETE FROM sign_in_failures WHERE username_key = $1",
      values: [key],
    });
  }
}
