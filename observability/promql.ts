/** What a PromQL expression reads, found with Prometheus's own PromQL grammar (@prometheus-io/lezer-promql). */
import { parser } from "@prometheus-io/lezer-promql";

/** The metric names the expression selects (e.g. `rate(x_total[5m]) / y` reads x_total and y). */
export function metricNames(expr: string): string[] {
  const names = new Set<string>();
  let error: number | undefined;
  parser.parse(expr).iterate({
    enter(node) {
      if (node.type.isError) error ??= node.from;
      if (node.name === "Identifier" && node.node.parent?.name === "VectorSelector")
        names.add(expr.slice(node.from, node.to));
    },
  });
  if (error !== undefined) throw new Error(`not PromQL at character ${error}: ${expr}`);
  return [...names].sort();
}

/**
 * A Grafana query with its variables given values Prometheus takes: `$__rate_interval` and `$__interval` a
 * duration, `$job` (a regex of services) any service. Any other variable is an error: nothing would check it.
 */
export function withGrafanaVariables(expr: string): string {
  const resolved = expr.replaceAll(/\$__(rate_)?interval\b/g, "1m").replaceAll(/\$job\b/g, ".*");
  if (resolved.includes("$")) throw new Error(`a Grafana variable this check does not know: ${expr}`);
  return resolved;
}
