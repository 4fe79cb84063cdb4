import { setTimeout as sleep } from "node:timers/promises";

export interface OpenLoopOptions {
  /** Calls started per second. */
  rate: number;
  seconds: number;
  /** Starts one call; it must not wait for the call's answer. */
  start: () => void;
  /** Told each time another whole second has passed (1, 2, ...), for live progress. */
  onSecond?: (second: number) => void;
  signal?: AbortSignal;
}

/**
 * Drives an open-loop load: `round(rate × seconds)` calls, the k-th started k / rate seconds in, whatever the
 * answers take, so that a system that cannot keep up shows it as growing latency, not as politely lower load.
 * Between starts it sleeps until the next one is due (or the next whole second, for progress) rather than
 * waking on a short timer to check. Resolves once the last call is started (or on abort), not when the calls
 * end.
 */
export async function runOpenLoop({
  rate,
  seconds,
  start,
  onSecond,
  signal,
}: OpenLoopOptions): Promise<void> {
  const total = Math.round(rate * seconds);
  const begin = performance.now();
  let started = 0;
  let reportedSecond = 0;
  while (started < total && !signal?.aborted) {
    const elapsedMs = performance.now() - begin;
    const due = Math.min(total, Math.floor((elapsedMs / 1000) * rate) + 1);
    for (; started < due; started++) start();
    const second = Math.floor(elapsedMs / 1000);
    if (second > reportedSecond) {
      reportedSecond = second;
      onSecond?.(second);
    }
    if (started >= total) break;
    const nextStartMs = (started / rate) * 1000;
    const nextSecondMs = (reportedSecond + 1) * 1000;
    const waitMs = Math.min(nextStartMs, nextSecondMs) - (performance.now() - begin);
    if (waitMs > 0) await sleep(waitMs, undefined, { signal }).catch(() => undefined);
  }
}
