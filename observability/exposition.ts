/** Metric names in Prometheus's text exposition format, as a service's /metrics serves it. */

/**
 * The series names a scrape yields: each `# TYPE` family, a histogram's as `_bucket`, `_sum` and `_count`, a
 * summary's as itself, `_sum` and `_count`. Families are declared even before their first sample.
 */
export function exposedNames(exposition: string): string[] {
  const names = new Set<string>();
  for (const [, name = "", type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    else if (type === "summary") for (const suffix of ["", "_sum", "_count"]) names.add(name + suffix);
    else names.add(name);
  }
  return [...names].sort();
}

/** Series Prometheus makes itself for every target and alert, which no service exports. */
export const prometheusOwnNames = [
  "up",
  "scrape_duration_seconds",
  "scrape_samples_scraped",
  "scrape_samples_post_metric_relabeling",
  "scrape_series_added",
  "ALERTS",
  "ALERTS_FOR_STATE",
];
