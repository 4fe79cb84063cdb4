import { LRUCache } from "lru-cache";

export interface BucketPolicy {
  /** Tokens added per second: the sustained request rate. */
  ratePerSecond: number;
  /** Bucket size: how many requests may come at once after a quiet spell. */
  burst: number;
}

export interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

/**
 * Token bucket: refills at `ratePerSecond` up to `burst`, and a request takes one token. Returns 0 when the
 * request may go, otherwise the milliseconds until a token will be there (what the client should wait).
 */
export function takeToken(bucket: Bucket, policy: BucketPolicy, nowMs: number): number {
  const elapsedSeconds = Math.max(0, nowMs - bucket.updatedAtMs) / 1000;
  bucket.tokens = Math.min(policy.burst, bucket.tokens + elapsedSeconds * policy.ratePerSecond);
  bucket.updatedAtMs = nowMs;
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    return 0;
  }
  return Math.ceil(((1 - bucket.tokens) / policy.ratePerSecond) * 1000);
}

/**
 * One token bucket per key (a client address, a user id), in bounded memory: at most `maxKeys` buckets, the
 * least recently seen going first when a new key comes. A forgotten key starts again with a full bucket,
 * which is what a key that has been quiet for burst/rate seconds has anyway.
 *
 * The bucket arithmetic is a few lines, so it lives here; bounding the map is what needs care, and
 * lru-cache does that.
 */
export class RateLimiter {
  private readonly buckets: LRUCache<string, Bucket> | undefined;

  /** A policy with ratePerSecond 0 limits nothing. */
  constructor(
    private readonly policy: BucketPolicy,
    maxKeys: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (policy.ratePerSecond <= 0) return;
    this.buckets = new LRUCache<string, Bucket>({ max: maxKeys });
  }

  /** Takes a token for `key`: 0 when the request may go, otherwise the milliseconds to wait. */
  take(key: string): number {
    if (this.buckets === undefined) return 0;
    const now = this.now();
    let bucket = this.buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: this.policy.burst, updatedAtMs: now };
      this.buckets.set(key, bucket);
    }
    return takeToken(bucket, this.policy, now);
  }

  /** How many keys are remembered now. */
  get trackedKeys(): number {
    return this.buckets?.size ?? 0;
  }
}
