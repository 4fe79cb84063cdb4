/**
 * A cache of tagged answers in Redis (standalone), whose invalidations are never undone by a late fill.
 *
 * Keys, under the process's prefix:
 * - `entry:<key>`: "<header>\n<body>", with an expiry; the header holds the entry's tags and `since`, the clock
 *   value read before its answer was read from the database.
 * - `clock`: a logical clock in microseconds, max(previous + 1, Redis's time), so that it only ever grows, even
 *   across a restart of Redis that lost it.
 * - `marker:<tag>`: the clock value when the tag was last invalidated; `flushed`: when every entry was.
 *
 * An entry is valid while no marker of its tags and not `flushed` is newer than its `since`; reads and fills
 * check that inside Redis, in one script each, so an invalidation that lands while a fill's database read runs
 * makes the fill store nothing, and one that lands after the fill makes the entry invalid. Markers and the
 * clock carry no expiry: with Redis's volatile-lru policy only entries are ever evicted. When the clock or
 * `flushed` is missing (Redis restarted empty), nothing is read or stored until this process has flushed.
 *
 * A process that may have missed an invalidation (at start, after any Redis error or reconnection, or while a
 * `hold` is on, e.g. its database notifications are down) does not use the cache until it has flushed it,
 * retrying until Redis answers; meanwhile `usable` is false and callers read the database.
 */

import type { Logger } from "@tourmesh/platform";
import { Redis, type Result } from "ioredis";
import type { CacheMetrics } from "./cache-metrics.js";

declare module "ioredis" {
  interface RedisCommander<Context> {
    cacheRead(
      entry: string,
      clock: string,
      flushed: string,
      markerPrefix: string,
    ): Result<[string | null, string | null], Context>;
    cacheFill(
      entry: string,
      clock: string,
      flushed: string,
      markerPrefix: string,
      since: string,
      ttlMs: number,
      value: string,
    ): Result<number, Context>;
    cacheBump(numberOfKeys: number, clock: string, ...markers: string[]): Result<string, Context>;
  }
}

/** Whether an entry is still valid: shared by the read and the fill scripts. */
const validityCheck = `
local function stale(since, flushed, tags, markerPrefix)
  if since < tonumber(flushed) then return true end
  for _, tag in ipairs(tags) do
    local marker = redis.call('GET', markerPrefix .. tag)
    if marker and tonumber(marker) > since then return true end
  end
  return false
end
`;

/** KEYS: entry, clock, flushed; ARGV: marker prefix. Returns {body or false, clock or false}. */
const readScript = `${validityCheck}
local clock = redis.call('GET', KEYS[2])
local flushed = redis.call('GET', KEYS[3])
if not clock or not flushed then return {false, false} end
local entry = redis.call('GET', KEYS[1])
if not entry then return {false, clock} end
local split = string.find(entry, '\\n', 1, true)
local header = cjson.decode(string.sub(entry, 1, split - 1))
if stale(tonumber(header.since), flushed, header.tags, ARGV[1]) then return {false, clock} end
return {string.sub(entry, split + 1), clock}
`;

/** KEYS: entry, clock, flushed; ARGV: marker prefix, since, ttl (ms), "<header>\n<body>". Returns 1 when stored. */
const fillScript = `${validityCheck}
local clock = redis.call('GET', KEYS[2])
local flushed = redis.call('GET', KEYS[3])
if not clock or not flushed then return 0 end
local since = tonumber(ARGV[2])
if tonumber(clock) < since then return 0 end
local value = ARGV[4]
local header = cjson.decode(string.sub(value, 1, string.find(value, '\\n', 1, true) - 1))
if stale(since, flushed, header.tags, ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], value, 'PX', ARGV[3])
return 1
`;

/** KEYS: clock, then the markers to move to the new clock value. Returns it. */
const bumpScript = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local clock = math.max(tonumber(redis.call('GET', KEYS[1]) or '0') + 1, now)
local value = string.format('%.0f', clock)
for i = 1, #KEYS do redis.call('SET', KEYS[i], value) end
return value
`;

export interface RedisCacheOptions {
  url: string;
  /** Prepended to every key, so that several caches (e.g. parallel test stacks) share one Redis. */
  keyPrefix: string;
  /** How long a command may take before the cache counts as failed and callers go to the database. */
  commandTimeoutMs: number;
  logger: Logger;
  metrics: CacheMetrics;
}

/** A read of the cache: the stored body, or a miss with the clock value a fill must pass back. */
export type CacheRead = { hit: true; body: string } | { hit: false; since: string };

const RECOVERY_INTERVAL_MS = 500;

export class RedisCache {
  private readonly redis: Redis;
  private readonly keys: { clock: string; flushed: string; markerPrefix: string; entryPrefix: string };
  private readonly holds = new Set<string>();
  /** Counts the moments this process may have missed an invalidation; `flushedFor` is the last one a flush answered. */
  private doubts = 0;
  private flushedFor = -1;
  private recovering: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: RedisCacheOptions) {
    const prefix = options.keyPrefix;
    this.keys = {
      clock: `${prefix}clock`,
      flushed: `${prefix}flushed`,
      markerPrefix: `${prefix}marker:`,
      entryPrefix: `${prefix}entry:`,
    };
    this.redis = new Redis(options.url, {
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: Math.max(1_000, options.commandTimeoutMs),
      // Fail at once while disconnected instead of queueing: the caller reads the database meanwhile.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
      scripts: {
        cacheRead: { numberOfKeys: 3, lua: readScript },
        cacheFill: { numberOfKeys: 3, lua: fillScript },
        cacheBump: { lua: bumpScript },
      },
    });
    // Every (re)connection may follow a restart of Redis or invalidations that could not be sent.
    this.redis.on("ready", () => this.doubt("connected to Redis"));
    this.redis.on("close", () => this.doubt("Redis connection closed"));
    // Reconnection attempts fail quietly: `doubt` logged the first failure.
    this.redis.on("error", () => undefined);
    this.doubt("starting");
  }

  /** True when answers may come from the cache. */
  get usable(): boolean {
    return this.flushedFor === this.doubts && this.holds.size === 0 && !this.closed;
  }

  /** Stops using the cache until `release(reason)`, after which it is flushed before use. */
  hold(reason: string): void {
    this.holds.add(reason);
    this.doubt(reason);
  }

  release(reason: string): void {
    this.holds.delete(reason);
    this.doubt(`${reason} resumed`);
  }

  async read(key: string): Promise<CacheRead> {
    const [body, clock] = await this.command("read", () =>
      this.redis.cacheRead(
        this.keys.entryPrefix + key,
        this.keys.clock,
        this.keys.flushed,
        this.keys.markerPrefix,
      ),
    );
    if (clock === null) {
      this.doubt("Redis lost its state");
      throw new Error("the cache has no clock: Redis restarted empty");
    }
    return body === null ? { hit: false, since: clock } : { hit: true, body };
  }

  /** Stores `body` under `key` unless one of `tags` (or everything) was invalidated since `since`. */
  async fill(
    key: string,
    tags: readonly string[],
    since: string,
    ttlMs: number,
    body: string,
  ): Promise<boolean> {
    const header = JSON.stringify({ since: Number(since), tags });
    const stored = await this.command("fill", () =>
      this.redis.cacheFill(
        this.keys.entryPrefix + key,
        this.keys.clock,
        this.keys.flushed,
        this.keys.markerPrefix,
        since,
        ttlMs,
        `${header}\n${body}`,
      ),
    );
    this.options.metrics.fills.inc({ result: stored === 1 ? "stored" : "refused" });
    return stored === 1;
  }

  /**
   * Makes every entry carrying one of `tags` stale. When Redis cannot confirm it, this process does not use the
   * cache again until it has flushed it: a lost invalidation must never leave a stale entry in use.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    const markers = tags.map((tag) => this.keys.markerPrefix + tag);
    try {
      await this.command("invalidate", () =>
        this.redis.cacheBump(1 + markers.length, this.keys.clock, ...markers),
      );
      this.options.metrics.invalidations.inc({ result: "done" });
    } catch (error) {
      this.options.metrics.invalidations.inc({ result: "error" });
      throw error;
    }
  }

  /** Closes the connection; the cache is unusable from then on. */
  async close(): Promise<void> {
    this.closed = true;
    this.options.metrics.usable.set(0);
    await this.recovering;
    this.redis.disconnect();
  }

  /** This process may have missed an invalidation: stop using the cache and flush it once Redis answers. */
  doubt(reason: string): void {
    if (this.usable) this.options.logger.warn({ reason }, "cache: not in use until flushed");
    this.doubts++;
    this.options.metrics.usable.set(0);
    this.recovering ??= this.recover().finally(() => {
      this.recovering = undefined;
    });
  }

  private async recover(): Promise<void> {
    while (!this.closed && this.flushedFor !== this.doubts) {
      if (this.holds.size === 0 && this.redis.status === "ready") {
        // A doubt raised while this flush is in flight is answered by the next round.
        const answering = this.doubts;
        try {
          await this.command("flush", () => this.redis.cacheBump(2, this.keys.clock, this.keys.flushed));
          this.flushedFor = answering;
          continue;
        } catch {
          // Redis is still failing: try again after the interval.
        }
      }
      await new Promise((resolve) => setTimeout(resolve, RECOVERY_INTERVAL_MS).unref());
    }
    if (this.usable) {
      this.options.metrics.usable.set(1);
      this.options.logger.info("cache: flushed; in use");
    }
  }

  /** Runs one Redis command, timed; a failure puts the cache out of use until it is flushed. */
  private async command<T>(operation: string, run: () => Promise<T>): Promise<T> {
    const stop = this.options.metrics.latency.startTimer({ operation });
    try {
      return await run();
    } catch (error) {
      this.doubt(`Redis ${operation} failed: ${(error as Error).message}`);
      throw error;
    } finally {
      stop();
    }
  }
}
