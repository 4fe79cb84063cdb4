/**
 * The Grafana dashboards, described in a few lines each and built with Grafana's own Foundation SDK. The JSON
 * files in dashboards/ are what `npm run generate:dashboards` writes from here; a spec fails when they differ.
 *
 * Every panel reads the Prometheus picked in the dashboard's `datasource` variable; `$job` picks services (the
 * scrape job is the service's name, see prometheus/config.ts). Histogram panels use `$__rate_interval`, which
 * Grafana sizes to the scrape interval; the gateway's per-method panels read the recording rules.
 */
import {
  LegendDisplayMode,
  LegendPlacement,
  VizLegendOptionsBuilder,
} from "@grafana/grafana-foundation-sdk/common";
import {
  type Dashboard,
  DashboardBuilder,
  DashboardCursorSync,
  DatasourceVariableBuilder,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
} from "@grafana/grafana-foundation-sdk/dashboard";
import { DataqueryBuilder } from "@grafana/grafana-foundation-sdk/prometheus";
import { PanelBuilder } from "@grafana/grafana-foundation-sdk/timeseries";

export interface QuerySpec {
  expr: string;
  /** The series' name in the legend, e.g. "{{job}}". */
  legend: string;
}

export interface PanelSpec {
  title: string;
  description: string;
  /** A Grafana unit: "reqps", "s", "percentunit", "bytes", "short", ... */
  unit: string;
  queries: QuerySpec[];
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  rows: Array<{ title: string; panels: PanelSpec[] }>;
}

/** The Prometheus of the dashboard's `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's syntax for a dashboard variable.
export const datasource = { type: "prometheus", uid: "${datasource}" };

const rate = (selector: string) => `rate(${selector}[$__rate_interval])`;
const quantile = (q: number, by: string, histogram: string, matchers: string) =>
  `histogram_quantile(${q}, sum by (${by}, le) (${rate(`${histogram}_bucket{${matchers}}`)}))`;
const jobs = 'job=~"$job"';
const charge = 'job="booking", grpc_service="tourmesh.payment.v1.PaymentService", grpc_method="Charge"';
const createBooking =
  'job="gateway", grpc_service="tourmesh.booking.v1.BookingService", grpc_method="CreateBooking"';

export const dashboards: DashboardSpec[] = [
  {
    uid: "tourmesh-overview",
    title: "tourmesh / Golden signals",
    description: "Traffic, errors, latency and saturation of every service, and CreateBooking's SLOs.",
    rows: [
      {
        title: "Traffic and errors",
        panels: [
          {
            title: "Requests per second",
            description: "RPCs each service answered, all methods.",
            unit: "reqps",
            queries: [
              { expr: `sum by (job) (job_method:grpc_server_handled:rate5m{${jobs}})`, legend: "{{job}}" },
            ],
          },
          {
            title: "Server error ratio",
            description:
              "Share of RPCs that failed on the server's side (INTERNAL, UNAVAILABLE, DEADLINE_EXCEEDED, ...).",
            unit: "percentunit",
            queries: [
              {
                // A service without a server error has no errors series: it shows 0, not "No data".
                expr: `sum by (job) (job_method:grpc_server_errors:rate5m{${jobs}} or job_method:grpc_server_handled:rate5m{${jobs}} * 0) / sum by (job) (job_method:grpc_server_handled:rate5m{${jobs}})`,
                legend: "{{job}}",
              },
            ],
          },
          {
            title: "Failed calls by code",
            description:
              "Every status but OK, the caller's refusals included (INVALID_ARGUMENT, NOT_FOUND, ...).",
            unit: "reqps",
            queries: [
              {
                expr: `sum by (job, grpc_code) (${rate(`grpc_server_handled_total{${jobs}, grpc_code!="OK"}`)})`,
                legend: "{{job}} {{grpc_code}}",
              },
            ],
          },
          {
            title: "Targets up",
            description: "Instances Prometheus reached at its last scrape, per service.",
            unit: "short",
            queries: [{ expr: `sum by (job) (up{${jobs}})`, legend: "{{job}}" }],
          },
        ],
      },
      {
        title: "Latency",
        panels: [
          {
            title: "p99 latency by service",
            description: "99th percentile of the time each service took to answer, all methods.",
            unit: "s",
            queries: [
              { expr: quantile(0.99, "job", "grpc_server_handling_seconds", jobs), legend: "{{job}}" },
            ],
          },
          {
            title: "p95 latency of the public methods",
            description: "At the gateway, per method: the PublicMethodSlow alert fires above 500 ms.",
            unit: "s",
            queries: [
              {
                expr: 'job_method:grpc_server_handling_seconds:p95_5m{job="gateway"}',
                legend: "{{grpc_method}}",
              },
            ],
          },
          {
            title: "CreateBooking SLOs: bad calls over the last hour",
            description:
              "Share of CreateBooking calls that failed (budget 0.1 %) and that took over 500 ms (budget 1 %), at the gateway.",
            unit: "percentunit",
            queries: [
              { expr: "slo:create_booking_errors:ratio_rate1h", legend: "failed (SLO 99.9 % succeed)" },
              { expr: "slo:create_booking_slow:ratio_rate1h", legend: "over 500 ms (SLO 99 % within)" },
            ],
          },
          {
            title: "p99 latency of calls to other services",
            description: "What each service waits for the services it calls.",
            unit: "s",
            queries: [
              {
                expr: quantile(0.99, "job, grpc_service", "grpc_client_handling_seconds", jobs),
                legend: "{{job}} → {{grpc_service}}",
              },
            ],
          },
        ],
      },
      {
        title: "Saturation and dependencies",
        panels: [
          {
            title: "CPU",
            description: "CPU seconds per second each service's processes use (1 = one core).",
            unit: "short",
            queries: [
              { expr: `sum by (job) (${rate(`process_cpu_seconds_total{${jobs}}`)})`, legend: "{{job}}" },
            ],
          },
          {
            title: "Database query p99 by service",
            description: "From sending a query to its answer, on each service's own database.",
            unit: "s",
            queries: [{ expr: quantile(0.99, "job", "db_query_duration_seconds", jobs), legend: "{{job}}" }],
          },
          {
            title: "Database query errors",
            description: "Queries that failed, by service and operation.",
            unit: "short",
            queries: [
              {
                expr: `sum by (job, operation) (${rate(`db_query_errors_total{${jobs}}`)})`,
                legend: "{{job}} {{operation}}",
              },
            ],
          },
          {
            title: "Authentication failures",
            description:
              "Callers refused as unauthenticated, by reason: at the gateway, the services and identity's sign-in.",
            unit: "short",
            queries: [
              {
                expr: `sum by (job, reason) (${rate(`auth_failures_total{${jobs}}`)})`,
                legend: "{{job}} {{reason}}",
              },
            ],
          },
          {
            title: "JWT verification p99",
            description: "Verifying a token not seen before (a remembered token costs nothing).",
            unit: "s",
            queries: [
              { expr: quantile(0.99, "job", "jwt_verify_duration_seconds", jobs), legend: "{{job}}" },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: "tourmesh-booking-saga",
    title: "tourmesh / Booking saga",
    description:
      "CreateBooking's settle attempts, their retries, the payment circuit breaker and the bookings waiting.",
    rows: [
      {
        title: "Settle attempts",
        panels: [
          {
            title: "Settle attempts by outcome",
            description:
              "Hold seats and charge: the booking's status after each attempt, sold out, or error.",
            unit: "short",
            queries: [
              {
                expr: `sum by (run_by, outcome) (${rate('booking_settle_attempts_total{job="booking"}')})`,
                legend: "{{run_by}}: {{outcome}}",
              },
            ],
          },
          {
            title: "Retries",
            description:
              "Attempts run by the retries (after an unanswered one), by outcome; pending_payment means another will follow.",
            unit: "short",
            queries: [
              {
                expr: `sum by (outcome) (${rate('booking_settle_attempts_total{job="booking", run_by="retry"}')})`,
                legend: "{{outcome}}",
              },
            ],
          },
          {
            title: "Bookings waiting for their payment",
            description: "PENDING_PAYMENT bookings, and the retry consumer's undelivered events.",
            unit: "short",
            queries: [
              { expr: 'max(bookings_pending_payment{job="booking"})', legend: "pending payment" },
              {
                expr: 'max by (consumer) (events_consumer_pending{job="booking"})',
                legend: "{{consumer}} lag",
              },
            ],
          },
          {
            title: "Oldest booking waiting for its payment",
            description: "The BookingsStuckInPendingPayment alert fires past 15 minutes.",
            unit: "s",
            queries: [
              { expr: 'max(bookings_pending_payment_oldest_age_seconds{job="booking"})', legend: "oldest" },
            ],
          },
        ],
      },
      {
        title: "Payment",
        panels: [
          {
            title: "Payment circuit breaker",
            description: "Booking instances in each state of the breaker around Charge.",
            unit: "short",
            queries: [
              { expr: 'sum by (state) (booking_payment_circuit_state{job="booking"})', legend: "{{state}}" },
            ],
          },
          {
            title: "Charge calls by code",
            description: "Booking's Charge calls to payment and how they ended.",
            unit: "reqps",
            queries: [
              {
                expr: `sum by (grpc_code) (${rate(`grpc_client_handled_total{${charge}}`)})`,
                legend: "{{grpc_code}}",
              },
            ],
          },
          {
            title: "Charge latency",
            description: "What booking waits for payment's Charge.",
            unit: "s",
            queries: [
              { expr: quantile(0.5, "grpc_method", "grpc_client_handling_seconds", charge), legend: "p50" },
              { expr: quantile(0.99, "grpc_method", "grpc_client_handling_seconds", charge), legend: "p99" },
            ],
          },
          {
            title: "CreateBooking latency at the gateway",
            description: "What travellers wait, seats held and charge made (or the booking left pending).",
            unit: "s",
            queries: [
              {
                expr: quantile(0.5, "grpc_method", "grpc_server_handling_seconds", createBooking),
                legend: "p50",
              },
              {
                expr: quantile(0.99, "grpc_method", "grpc_server_handling_seconds", createBooking),
                legend: "p99",
              },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: "tourmesh-events",
    title: "tourmesh / Events",
    description: "The outboxes and their relays, the consumers, their lag and their dead letters.",
    rows: [
      {
        title: "Outbox",
        panels: [
          {
            title: "Outbox backlog",
            description:
              "Events recorded and not yet published, per service: the OutboxBacklogGrowing alert fires above 2,000 and growing.",
            unit: "short",
            queries: [{ expr: `max by (job) (outbox_backlog{${jobs}})`, legend: "{{job}}" }],
          },
          {
            title: "Events published",
            description: "Events the relays published (acknowledged by JetStream).",
            unit: "short",
            queries: [
              { expr: `sum by (job) (${rate(`outbox_published_total{${jobs}}`)})`, legend: "{{job}}" },
            ],
          },
          {
            title: "Publish latency p99",
            description: "From an event's recording in the outbox to JetStream's ack of its publish.",
            unit: "s",
            queries: [
              { expr: quantile(0.99, "job", "outbox_publish_latency_seconds", jobs), legend: "{{job}}" },
            ],
          },
        ],
      },
      {
        title: "Consumers",
        panels: [
          {
            title: "Consumer lag",
            description: "Events in the stream not yet delivered to each consumer.",
            unit: "short",
            queries: [
              { expr: `max by (consumer) (events_consumer_pending{${jobs}})`, legend: "{{consumer}}" },
            ],
          },
          {
            title: "Deliveries by outcome",
            description: "handled, duplicate, ignored, retry, failed.",
            unit: "short",
            queries: [
              {
                expr: `sum by (consumer, outcome) (${rate(`events_handled_total{${jobs}}`)})`,
                legend: "{{consumer}} {{outcome}}",
              },
            ],
          },
          {
            title: "Handling p99",
            description: "Time a consumer took to handle one delivery.",
            unit: "s",
            queries: [
              { expr: quantile(0.99, "consumer", "events_handling_seconds", jobs), legend: "{{consumer}}" },
            ],
          },
          {
            title: "Dead letters",
            description: "Waiting in the dead-letter stream (until redriven), and moved there per second.",
            unit: "short",
            queries: [
              { expr: `max by (consumer) (events_dead_letters{${jobs}})`, legend: "{{consumer}} waiting" },
              {
                expr: `sum by (consumer) (${rate(`events_dead_lettered_total{${jobs}}`)})`,
                legend: "{{consumer}} moved/s",
              },
            ],
          },
        ],
      },
    ],
  },
  {
    uid: "tourmesh-runtime",
    title: "tourmesh / Node.js runtime",
    description: "Memory, event-loop delay, garbage collection and handles of every process.",
    rows: [
      {
        title: "Memory",
        panels: [
          {
            title: "Resident memory",
            description: "What each process holds in RAM (the targets allow 150 MB under load).",
            unit: "bytes",
            queries: [{ expr: `process_resident_memory_bytes{${jobs}}`, legend: "{{job}} {{instance}}" }],
          },
          {
            title: "Heap used",
            description: "V8's heap in use, and its size.",
            unit: "bytes",
            queries: [
              {
                expr: `sum by (job, instance) (nodejs_heap_size_used_bytes{${jobs}})`,
                legend: "{{job}} {{instance}} used",
              },
              {
                expr: `sum by (job, instance) (nodejs_heap_size_total_bytes{${jobs}})`,
                legend: "{{job}} {{instance}} size",
              },
            ],
          },
        ],
      },
      {
        title: "Event loop and GC",
        panels: [
          {
            title: "Event-loop delay p99",
            description: "How late timers and I/O callbacks run: a busy or blocked loop delays every call.",
            unit: "s",
            queries: [{ expr: `nodejs_eventloop_lag_p99_seconds{${jobs}}`, legend: "{{job}} {{instance}}" }],
          },
          {
            title: "Time in garbage collection",
            description: "Seconds per second spent in GC pauses, by kind.",
            unit: "percentunit",
            queries: [
              {
                expr: `sum by (job, kind) (${rate(`nodejs_gc_duration_seconds_sum{${jobs}}`)})`,
                legend: "{{job}} {{kind}}",
              },
            ],
          },
          {
            title: "GC pauses",
            description: "Collections per second, by kind.",
            unit: "short",
            queries: [
              {
                expr: `sum by (job, kind) (${rate(`nodejs_gc_duration_seconds_count{${jobs}}`)})`,
                legend: "{{job}} {{kind}}",
              },
            ],
          },
          {
            title: "Handles and file descriptors",
            description: "Active libuv handles (sockets, timers) and open file descriptors.",
            unit: "short",
            queries: [
              {
                expr: `sum by (job, instance) (nodejs_active_handles_total{${jobs}})`,
                legend: "{{job}} {{instance}} handles",
              },
              { expr: `process_open_fds{${jobs}}`, legend: "{{job}} {{instance}} fds" },
            ],
          },
        ],
      },
    ],
  },
];

const refIds = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

function panel(spec: PanelSpec, id: number): PanelBuilder {
  const builder = new PanelBuilder()
    .id(id)
    .title(spec.title)
    .description(spec.description)
    .datasource(datasource)
    .unit(spec.unit)
    .min(0)
    .legend(
      new VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(LegendDisplayMode.List)
        .placement(LegendPlacement.Bottom),
    );
  spec.queries.forEach((query, index) => {
    builder.withTarget(
      new DataqueryBuilder()
        .refId(refIds[index] ?? String(index))
        .datasource(datasource)
        .expr(query.expr)
        .legendFormat(query.legend),
    );
  });
  return builder;
}

/** The dashboard of a description, as Grafana stores it. Panel ids are unique in the dashboard, rows included. */
export function buildDashboard(spec: DashboardSpec): Dashboard {
  const builder = new DashboardBuilder(spec.title)
    .uid(spec.uid)
    .description(spec.description)
    .tags(["tourmesh"])
    .editable()
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: "now-1h", to: "now" })
    .refresh("30s")
    .withVariable(new DatasourceVariableBuilder("datasource").label("Prometheus").type("prometheus"))
    .withVariable(
      new QueryVariableBuilder("job")
        .label("Service")
        .datasource(datasource)
        .query("label_values(up, job)")
        .refresh(VariableRefresh.OnTimeRangeChanged)
        .multi(true)
        .includeAll(true)
        .allValue(".*"),
    );
  let id = 0;
  for (const row of spec.rows) {
    builder.withRow(new RowBuilder(row.title).id(++id));
    for (const panelSpec of row.panels) builder.withPanel(panel(panelSpec, ++id));
  }
  return builder.build();
}

/** Each dashboard's file name in dashboards/ and its JSON text. */
export function dashboardFiles(): Map<string, string> {
  return new Map(
    dashboards.map((spec) => [`${spec.uid}.json`, `${JSON.stringify(buildDashboard(spec), null, 2)}\n`]),
  );
}
