import type { ScrapeTarget } from "@tourmesh/observability/prometheus";

/**
 * What Prometheus scrapes of a set of running services (the topology's, or a stack's processes on free
 * ports): each one's metrics port, as a job named after the service, the name the rules and dashboards select.
 */
export function scrapeTargets(placed: Iterable<{ name: string; metricsPort: number }>): ScrapeTarget[] {
  return [...placed].map(({ name, metricsPort }) => ({ job: name, address: `127.0.0.1:${metricsPort}` }));
}
