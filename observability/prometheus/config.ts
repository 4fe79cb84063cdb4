/** The Prometheus configuration of a set of scrape targets, with the rules of this folder. */
import { stringify } from "yaml";
import { rulesDir } from "./rules.js";

export interface ScrapeTarget {
  /** The service's name: every series scraped from it carries it as `job`, which the rules and dashboards use. */
  job: string;
  /** host:port of its /metrics. */
  address: string;
}

export interface PrometheusConfigOptions {
  targets: readonly ScrapeTarget[];
  /** The folder of rule files to load (every *.yaml in it); this folder's rules by default. */
  rulesDir?: string;
  /** How often to scrape and to evaluate the rules: 15s by default. */
  interval?: string;
}

/**
 * prometheus.yml for the targets: one scrape job per service (its replicas are targets of the same job),
 * each scraped at /metrics over plain HTTP, and the rule files. Rejects a target named twice.
 */
export function renderPrometheusConfig({
  targets,
  rulesDir: rules = rulesDir.pathname,
  interval = "15s",
}: PrometheusConfigOptions): string {
  const addressesByJob = new Map<string, string[]>();
  const seen = new Set<string>();
  for (const { job, address } of targets) {
    if (!/^[a-zA-Z_][a-zA-Z0-9_-]*$/.test(job)) throw new Error(`"${job}" is not a usable job name`);
    if (!/^[^\s/]+:\d+$/.test(address)) throw new Error(`${job}: "${address}" is not a host:port`);
    if (seen.has(`${job} ${address}`)) throw new Error(`${job} at ${address} is named twice`);
    seen.add(`${job} ${address}`);
    addressesByJob.set(job, [...(addressesByJob.get(job) ?? []), address]);
  }
  return stringify({
    global: { scrape_interval: interval, evaluation_interval: interval },
    rule_files: [`${rules.replace(/\/$/, "")}/*.yaml`],
    scrape_configs: [...addressesByJob].map(([job, addresses]) => ({
      job_name: job,
      metrics_path: "/metrics",
      static_configs: [{ targets: addresses }],
    })),
  });
}
