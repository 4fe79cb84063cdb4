import type { ServiceProcess } from "../launcher.js";

/** A catalog process's `cache_requests_total` from its /metrics, by "cache/result", e.g. "tour/hit". */
export async function cacheRequests(catalog: ServiceProcess): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${catalog.metricsPort}/metrics`)).text();
  const counts: Record<string, number> = {};
  for (const [, cache, result, value] of text.matchAll(
    /^cache_requests_total\{cache="(\w+)",result="(\w+)"\} (\d+)/gm,
  ))
    counts[`${cache}/${result}`] = Number(value);
  return counts;
}
