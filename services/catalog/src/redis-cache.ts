/**
 * A cache of tagged answers in Redis (standalone), whose invalidations are never undone by a late fill.
 *
 * Keys, under the process's prefix:
 * - `entry:<key>`: "<header>\n<body>", with an expiry; the header (JSON, one line) holds the entry's tags and
 *   `since`, the clock value read before its answer was read from the database; the body is bytes, never
 *   looked into (Lua strings are binary-safe, and the first newline ends the header).
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
 * A process owes the cache what it may have failed to invalidate, and does not read it until it has paid:
 * the tags of an invalidation Redis did not confirm (sent again), or everything (a flush) at start, when Redis
 * lost its state, and after a `hold` (e.g. while its database notifications were down, changes went unheard).
 * It retries until Redis answers; meanwhile `usable` is false and callers read the database. A read or fill
 * that fails loses nothing: the cache is only skipped for a moment, so that a hung Redis costs one timeout,
 * not one per call.
 */

import type { Logger } from "@tourmesh/platform";
import { Redis, type Result } from "ioredis";
import type { CacheMetrics, CacheOperation } from "./cache-metrics.js";

declare module "ioredis" {
  interface RedisCommander<Context> {
    cacheReadBuffer(
      entry: string,
      clock: string,
      flushed: string,
      markerPrefix: string,
    ): Result<[Buffer | null, Buffer | null], Context>;
    cacheFill(
      entry: string,
      clock: string,
      flushed: string,
      markerPrefix: string,
      since: string,
      ttlMs: number,
      value: Buffer,
    ): Result<number, Context>;
    cacheBump(numberOfKeys: number, clock: string, ...markers: string[]): Result<string, Context>;
  }
}

/** Whether an entry is still valid: shared by the read and the fill scripts. */
const validityCheck = `
local function stale(since, flushed, tags, markerPrefix)
  if since < tonumber(flushed) then return true end
  if #tags == 0 then return false end
  local names = {}
  for i, tag in ipairs(tags) do names[i] = markerPrefix .. tag end
  for _, marker in ipairs(redis.call('MGET', unpack(names))) do
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
export type CacheRead = { hit: true; body: Buffer } | { hit: false; since: string };

const RECOVERY_INTERVAL_MS = 500;
/** How long reads skip the cache after a read or fill failed. */
const PAUSE_AFTER_FAILURE_MS = 1_000;

export class RedisCache {
  private readonly redis: Redis;
  private readonly keys: { clock: string; flushed: string; markerPrefix: string; entryPrefix: string };
  private readonly holds = new Set<string>();
  /** What this process owes the cache before reading it: the tags to invalidate again, or a flush. */
  private owed: Set<string> | "everything" = "everything";
  private paying = false;
  private pausedUntil = 0;
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
      // Commands sent in one turn of the event loop (concurrent calls' reads) go out in one write.
      enableAutoPipelining: true,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 100, 1_000),
      scripts: {
        cacheRead: { numberOfKeys: 3, lua: readScript },
        cacheFill: { numberOfKeys: 3, lua: fillScript },
        cacheBump: { lua: bumpScript },
      },
    });
    this.redis.on("ready", () => this.recover());
    // Commands fail while disconnected, and their failures are handled where they are sent.
    this.redis.on("error", () => undefined);
    this.options.metrics.usable.set(0);
    this.recover();
  }

  /** True when answers may come from the cache. */
  get usable(): boolean {
    return (
      !this.closed &&
      !this.paying &&
      this.owed !== "everything" &&
      this.owed.size === 0 &&
      this.holds.size === 0 &&
      performance.now() >= this.pausedUntil
    );
  }

  /** Stops using the cache until `release(reason)`, after which it is flushed before use. */
  hold(reason: string): void {
    this.holds.add(reason);
    this.owe("everything", reason);
  }

  release(reason: string): void {
    this.holds.delete(reason);
    this.recover();
  }

  /** Something may have changed unheard: flush before the next use. */
  flushBeforeUse(reason: string): void {
    this.owe("everything", reason);
  }

  /** Reads the entry of `key`; its body comes as Redis sent it, bytes that are never decoded here. */
  async read(key: string): Promise<CacheRead> {
    const [body, clock] = await this.command("read", () =>
      this.redis.cacheReadBuffer(
        this.keys.entryPrefix + key,
        this.keys.clock,
        this.keys.flushed,
        this.keys.markerPrefix,
      ),
    );
    if (clock === null) {
      this.owe("everything", "Redis lost its state");
      throw new Error("the cache has no clock: Redis restarted empty");
    }
    return body === null ? { hit: false, since: clock.toString() } : { hit: true, body };
  }

  /** Stores `body` under `key` unless one of `tags` (or everything) was invalidated since `since`. */
  async fill(
    key: string,
    tags: readonly string[],
    since: string,
    ttlMs: number,
    body: Uint8Array,
  ): Promise<boolean> {
    const header = Buffer.from(`${JSON.stringify({ since: Number(since), tags })}\n`);
    const stored = await this.command("fill", () =>
      this.redis.cacheFill(
        this.keys.entryPrefix + key,
        this.keys.clock,
        this.keys.flushed,
        this.keys.markerPrefix,
        since,
        ttlMs,
        Buffer.concat([header, body]),
      ),
    );
    this.options.metrics.fills.inc({ result: stored === 1 ? "stored" : "refused" });
    return stored === 1;
  }

  /**
   * Makes every entry carrying one of `tags` stale. When Redis does not confirm it, this process reads the
   * database until it has sent them again: a lost invalidation must never leave a stale entry in use.
   */
  async invalidate(tags: readonly string[]): Promise<void> {
    if (tags.length === 0) return;
    try {
      await this.bump(tags.map((tag) => this.keys.markerPrefix + tag));
      this.options.metrics.invalidations.inc({ result: "done" });
    } catch (error) {
      this.options.metrics.invalidations.inc({ result: "error" });
      this.owe(new Set(tags), `an invalidation failed: ${(error as Error).message}`);
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

  private owe(debt: Set<string> | "everything", reason: string): void {
    if (this.usable)
      this.options.logger.warn({ reason }, "cache: out of use until Redis confirms what it missed");
    if (debt === "everything" || this.owed === "everything") this.owed = "everything";
    else for (const tag of debt) this.owed.add(tag);
    this.options.metrics.usable.set(0);
    this.recover();
  }

  /** Pays what is owed once Redis answers, retrying; then the cache is usable again (unless held). */
  private recover(): void {
    this.recovering ??= (async () => {
      while (!this.closed && (this.owed === "everything" || this.owed.size > 0)) {
        if (this.holds.size === 0 && this.redis.status === "ready") {
          // What is owed from now on waits for the next round.
          const paying = this.owed;
          this.owed = new Set();
          this.paying = true;
          try {
            await this.bump(
              paying === "everything"
                ? [this.keys.flushed]
                : [...paying].map((tag) => this.keys.markerPrefix + tag),
            );
            continue;
          } catch {
            if (paying === "everything") this.owed = "everything";
            else this.owe(paying, "sending again failed");
          } finally {
            this.paying = false;
          }
        }
        await new Promise((resolve) => setTimeout(resolve, RECOVERY_INTERVAL_MS).unref());
      }
      if (this.usable) {
        this.options.metrics.usable.set(1);
        this.options.logger.info("cache: in use");
      }
    })().finally(() => {
      this.recovering = undefined;
    });
  }

  /** Moves the given markers (or `flushed`) to a new, later clock value. */
  private bump(markers: string[]): Promise<string> {
    return this.command("invalidate", () =>
      this.redis.cacheBump(1 + markers.length, this.keys.clock, ...markers),
    );
  }

  /** Runs one Redis command, timed. A failed read or fill pauses the cache's use for a moment. */
  private async command<T>(operation: CacheOperation, run: () => Promise<T>): Promise<T> {
    const stop = this.options.metrics.time(operation);
    try {
      return await run();
    } catch (error) {
      if (operation === "read" || operation === "fill")
        this.pausedUntil = performance.now() + PAUSE_AFTER_FAILURE_MS;
      throw error;
    } finally {
      stop();
    }
  }
}
