/**
 * Property-based fuzzing of every method of every service, generated from the service descriptors: each call
 * sends a request built by request-arbitraries.ts over one of the system's wire protocols, through the gateway
 * (Connect JSON, Connect binary, gRPC-Web, gRPC) when it routes the method, or over gRPC straight to the
 * service. Properties of every call:
 *   - no INTERNAL, UNKNOWN or DATA_LOSS status and no HTTP 5xx: bad input is the caller's fault;
 *   - a well-formed message refused as INVALID_ARGUMENT names the fields at fault (google.rpc.BadRequest);
 *   - no process died or restarted, and no process wrote an error-level log line;
 *   - a refused call changed no database: every table's row count and content digest are as before.
 * A failure is shrunk by fast-check and reported with its seed and path, which replay it exactly.
 */
import {
  type DescMessage,
  type DescMethod,
  type DescService,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { IdentityService } from "@tourmesh/gen/tourmesh/identity/v1/identity_pb.js";
import { type ServiceName, type Stack, startStack } from "@tourmesh/stack";
import { type RawAnswer, type RawCaller, rawCaller, type WireProtocol } from "@tourmesh/stack/testing";
import fc from "fast-check";
import { type KnownStrings, type RequestPayload, requestPayloadArbitrary } from "./request-arbitraries.js";

/**
 * The refusals that are meant to write, by procedure and status, and the one table each may change: a failed
 * sign-in is counted, so that guessing a user's password is throttled (identity's sign-in-throttle.ts).
 */
const RECORDED_REFUSALS: Readonly<Record<string, string>> = {
  "/tourmesh.identity.v1.IdentityService/SignIn UNAUTHENTICATED": "identity.sign_in_failures",
};

/** Statuses that mean the server failed, not the request. */
const SERVER_FAULTS = new Set(["INTERNAL", "UNKNOWN", "DATA_LOSS"]);
const EDGE_PROTOCOLS: readonly WireProtocol[] = ["connect-json", "connect-proto", "grpc-web", "grpc"];
const BINARY_EDGE_PROTOCOLS: readonly WireProtocol[] = ["connect-proto", "grpc-web", "grpc"];

export interface FuzzTarget {
  /** The service process that serves the method. */
  service: ServiceName;
  method: DescMethod;
  /** Whether the gateway routes it (it answers UNIMPLEMENTED otherwise). */
  routed: boolean;
}

interface FuzzCall {
  route: "edge" | "direct";
  protocol: WireProtocol;
  signedIn: boolean;
  payload: RequestPayload;
}

/** The services a process serves, from the generated code of its own package (tourmesh.<name>.v1). */
async function servicesOf(name: ServiceName): Promise<DescService[]> {
  const generated = (await import(`@tourmesh/gen/tourmesh/${name}/v1/${name}_pb.js`)) as Record<
    string,
    unknown
  >;
  return Object.values(generated).filter(
    (value): value is DescService =>
      typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "service",
  );
}

const procedureOf = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;

/** One line per table of each database: name, row count and a digest of its content. */
export class DatabaseSnapshots {
  private constructor(
    private readonly stack: Stack,
    private readonly queries: ReadonlyMap<ServiceName, string>,
  ) {}

  static async of(stack: Stack): Promise<DatabaseSnapshots> {
    const queries = new Map<ServiceName, string>();
    for (const service of stack.databases.keys()) {
      const tables = await stack.query<{ table_name: string }>(
        service,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name",
      );
      if (tables.length === 0) continue;
      queries.set(
        service,
        tables
          .map(
            ({ table_name }) =>
              `SELECT '${table_name}' AS name, count(*)::int AS rows, md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) AS digest FROM "${table_name}" t`,
          )
          .join(" UNION ALL "),
      );
    }
    return new DatabaseSnapshots(stack, queries);
  }

  async take(): Promise<Map<string, string>> {
    const snapshot = new Map<string, string>();
    await Promise.all(
      [...this.queries].map(async ([service, sql]) => {
        for (const row of await this.stack.query<{ name: string; rows: number; digest: string }>(
          service,
          sql,
        )) {
          snapshot.set(`${service}.${row.name}`, `${row.rows} rows, ${row.digest}`);
        }
      }),
    );
    return snapshot;
  }

  /**
   * Waits until snapshots agree for `quietMs`: what an accepted call set off (its events, their consumers)
   * has landed, as far as can be seen. What lands later still is told apart by making the call again (see
   * problemsOf).
   */
  async settled({ quietMs = 600, timeoutMs = 15_000 } = {}): Promise<Map<string, string>> {
    const until = Date.now() + timeoutMs;
    let last = await this.take();
    let quietSince = Date.now();
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      const next = await this.take();
      if (changedTables(last, next).length > 0) quietSince = Date.now();
      if (Date.now() - quietSince >= quietMs || Date.now() > until) return next;
      last = next;
    }
  }
}

function changedTables(before: Map<string, string>, after: Map<string, string>): string[] {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => before.get(name) !== after.get(name)).sort();
}

/** Every method of every service of the stack, and whether the gateway routes it. */
export async function fuzzTargets(stack: Stack): Promise<FuzzTarget[]> {
  const edge = rawCaller(stack.address("gateway"));
  try {
    const targets: FuzzTarget[] = [];
    for (const service of stack.processes.keys()) {
      if (service === "gateway") continue;
      for (const desc of await servicesOf(service)) {
        for (const method of desc.methods) {
          if (method.methodKind !== "unary") continue;
          // An empty message is a valid request of any method: only an unrouted one is UNIMPLEMENTED.
          const probe = await edge.call("grpc", procedureOf(method), new Uint8Array());
          targets.push({ service, method, routed: probe.code !== "UNIMPLEMENTED" });
        }
      }
    }
    // In a fixed order, whatever order the processes started in: a run is replayed by its seed.
    return targets.sort((a, b) => procedureOf(a.method).localeCompare(procedureOf(b.method)));
  } finally {
    edge.close();
  }
}

/**
 * Strings worth trying: the values of every text column of the databases, for fields of the column's name
 * (a `tour_id` field gets the tour ids), ids for any string field, and `hints` for fields the databases have
 * no values for yet.
 */
export async function knownStrings(
  stack: Stack,
  hints: Readonly<Record<string, readonly string[]>>,
): Promise<KnownStrings> {
  const byField = new Map<string, Set<string>>(
    Object.entries(hints).map(([field, values]) => [field, new Set(values)]),
  );
  const any = new Set(Object.values(hints).flat());
  for (const service of stack.databases.keys()) {
    const columns = await stack.query<{ table_name: string; column_name: string }>(
      service,
      `SELECT table_name, column_name FROM information_schema.columns
       WHERE table_schema = 'public' AND data_type = 'text'`,
    );
    for (const { table_name, column_name } of columns) {
      const rows = await stack.query<{ value: string }>(
        service,
        `SELECT DISTINCT "${column_name}" AS value FROM "${table_name}"
         WHERE "${column_name}" IS NOT NULL AND length("${column_name}") <= 200 LIMIT 10`,
      );
      const values = byField.get(column_name) ?? new Set<string>();
      byField.set(column_name, values);
      for (const { value } of rows) {
        values.add(value);
        if (column_name.endsWith("_id")) any.add(value);
      }
    }
  }
  return {
    any: [...any],
    byField: Object.fromEntries([...byField].map(([field, values]) => [field, [...values]])),
  };
}

function callArbitrary(target: FuzzTarget, known: KnownStrings): fc.Arbitrary<FuzzCall> {
  const routes = (binaryOnly: boolean): fc.Arbitrary<Pick<FuzzCall, "route" | "protocol">> => {
    const direct = fc.constant({ route: "direct" as const, protocol: "grpc" as const });
    if (!target.routed) return direct;
    const edge = fc
      .constantFrom(...(binaryOnly ? BINARY_EDGE_PROTOCOLS : EDGE_PROTOCOLS))
      .map((protocol) => ({ route: "edge" as const, protocol }));
    return fc.oneof({ arbitrary: edge, weight: 3 }, { arbitrary: direct, weight: 1 });
  };
  return requestPayloadArbitrary(target.method.input, known).chain((payload) => {
    const route =
      payload.kind === "bytes" && payload.json
        ? target.routed
          ? fc.constant({ route: "edge" as const, protocol: "connect-json" as const })
          : routes(true)
        : routes(payload.kind === "bytes");
    // Mostly with the signed-in user's token, so that calls get past authentication to the code behind it.
    const signedIn = fc.oneof(
      { arbitrary: fc.constant(true), weight: 4 },
      { arbitrary: fc.constant(false), weight: 1 },
    );
    return fc.tuple(route, signedIn).map(([{ route: via, protocol }, withToken]) => ({
      route: via,
      protocol,
      signedIn: withToken,
      payload,
    }));
  });
}

/** The request bytes of a call, or undefined when its message has no encoding in that format (JSON limits). */
function bodyOf(input: DescMessage, call: FuzzCall): Uint8Array | undefined {
  const { payload } = call;
  if (payload.kind === "bytes") return payload.bytes;
  if (call.protocol !== "connect-json") return toBinary(input, payload.message);
  try {
    return new TextEncoder().encode(toJsonString(input, payload.message));
  } catch {
    return undefined;
  }
}

/** A method's own seed: the same for it in a full run and in a run of it alone (`--method`). */
function seedOf(seed: number, procedure: string): number {
  let hash = seed | 0;
  for (const char of procedure) hash = (Math.imul(hash, 31) + (char.codePointAt(0) ?? 0)) | 0;
  return hash;
}

/** How one call of the run came out, by method, route/protocol and status. */
export type OutcomeCounts = Map<string, Map<string, number>>;

export interface FuzzOptions {
  stack: Stack;
  targets: readonly FuzzTarget[];
  known: KnownStrings;
  /** The bearer token of a signed-in user, sent with most calls. */
  token: string;
  seed: number;
  /** Per method: a fixed number of runs (reproducible exactly), or a time budget. */
  budget: { runs: number } | { milliseconds: number };
  log?: (line: string) => void;
}

export interface FuzzResult {
  counts: OutcomeCounts;
  calls: number;
  /** One report per method whose property failed: the shrunk counterexample, its seed and path. */
  failures: string[];
}

export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const { stack, targets, known, token, seed, budget, log = () => {} } = options;
  const callers = new Map<string, RawCaller>();
  const callerOf = (address: string) => {
    let caller = callers.get(address);
    if (!caller) {
      caller = rawCaller(address);
      callers.set(address, caller);
    }
    return caller;
  };
  const snapshots = await DatabaseSnapshots.of(stack);
  const counts: OutcomeCounts = new Map();
  const failures: string[] = [];
  let calls = 0;
  let baseline = await snapshots.settled();

  const count = (procedure: string, outcome: string) => {
    const perMethod = counts.get(procedure) ?? new Map<string, number>();
    counts.set(procedure, perMethod);
    perMethod.set(outcome, (perMethod.get(outcome) ?? 0) + 1);
  };
  const send = async (target: FuzzTarget, call: FuzzCall, body: Uint8Array): Promise<RawAnswer> => {
    const address = call.route === "edge" ? stack.address("gateway") : stack.address(target.service);
    const answer = await callerOf(address).call(call.protocol, procedureOf(target.method), body, {
      headers: call.signedIn ? { authorization: `Bearer ${token}` } : {},
    });
    calls++;
    count(procedureOf(target.method), `${call.route} ${call.protocol} ${answer.code}`);
    return answer;
  };
  /** The tables a refused call changed, but for the one a refusal of that kind is meant to write. */
  const unexpectedChanges = (procedure: string, answer: RawAnswer, after: Map<string, string>) => {
    const recorded = RECORDED_REFUSALS[`${procedure} ${answer.code}`];
    return changedTables(baseline, after).filter((table) => table !== recorded);
  };

  const problemsOf = async (target: FuzzTarget, call: FuzzCall): Promise<string[]> => {
    const body = bodyOf(target.method.input, call);
    const procedure = procedureOf(target.method);
    if (body === undefined) {
      count(procedure, `${call.route} ${call.protocol} NOT_ENCODABLE_AS_JSON`);
      return [];
    }
    const errorsBefore = stack.errorLogs().length;
    const answer = await send(target, call, body);
    const problems: string[] = [];
    if (SERVER_FAULTS.has(answer.code)) problems.push(`answered ${answer.code}: ${answer.message}`);
    if (answer.httpStatus >= 500) problems.push(`answered HTTP ${answer.httpStatus} (${answer.code})`);
    // A message that decodes but is refused as bad input has a field at fault: the answer must name it.
    if (
      answer.code === "INVALID_ARGUMENT" &&
      call.payload.kind === "message" &&
      answer.fieldViolations.length === 0
    ) {
      problems.push(`INVALID_ARGUMENT without a field violation: ${answer.message}`);
    }
    for (const [name, service] of stack.processes) {
      if (service.restarts() > 0) problems.push(`${name} restarted`);
      if (service.process.exitCode !== null || service.process.signalCode !== null) {
        problems.push(`${name} died`);
      }
    }
    const newErrors = stack.errorLogs().slice(errorsBefore);
    if (newErrors.length > 0) problems.push(`error log lines: ${JSON.stringify(newErrors)}`);
    if (answer.code === "OK") {
      baseline = await snapshots.settled();
      return problems;
    }
    let after = await snapshots.take();
    if (unexpectedChanges(procedure, answer, after).length > 0) {
      // Something changed while the call was refused: the late effects of an accepted call (its events) or
      // this call. Once they have settled the call is made again; what it changes again is its own doing.
      baseline = await snapshots.settled();
      const again = await send(target, call, body);
      after = await snapshots.take();
      const changed = again.code === "OK" ? [] : unexpectedChanges(procedure, again, after);
      if (changed.length > 0) problems.push(`refused (${again.code}) but changed ${changed.join(", ")}`);
      if (again.code === "OK" || changed.length > 0) after = await snapshots.settled();
    }
    baseline = after;
    return problems;
  };

  for (const target of targets) {
    const procedure = procedureOf(target.method);
    const property = fc.asyncProperty(callArbitrary(target, known), async (call) => {
      const problems = await problemsOf(target, call);
      if (problems.length > 0) throw new Error(problems.join("; "));
    });
    const methodSeed = seedOf(seed, procedure);
    const details = await fc.check(property, {
      seed: methodSeed,
      endOnFailure: false,
      ...("runs" in budget
        ? { numRuns: budget.runs }
        : { numRuns: Number.MAX_SAFE_INTEGER, plugins: [fc.interruptAfterTimeLimit(budget.milliseconds)] }),
    });
    if (details.failed) {
      failures.push(
        `${procedure}, replay with: npm run fuzz -- --seed ${seed} --method ${target.method.name}\n` +
          `${fc.defaultReportMessage(details) ?? ""}\n${String(details.errorInstance)}`,
      );
    }
    log(`${procedure}: ${details.numRuns} runs${details.failed ? ", FAILED" : ""}`);
  }
  for (const caller of callers.values()) caller.close();
  return { counts, calls, failures };
}

/** Values for fields that a fresh system's databases have none for yet: the demo's users, countries, ... */
const FIELD_HINTS: Readonly<Record<string, readonly string[]>> = {
  username: ["alice", "bob", "olga"],
  password: ["tourmesh-demo"],
  country_code: ["FR", "DE", "US", "GB"],
  currency_code: ["EUR", "USD"],
  promo_code: [""],
  destination: ["Paris", "Rome"],
};

export interface FuzzStack {
  stack: Stack;
  targets: FuzzTarget[];
  known: KnownStrings;
  /** alice's access token. */
  token: string;
}

/**
 * The whole system on free ports and fresh databases, restarting a process that dies (so that a crash is
 * counted, not fatal to the run), with the gateway's rate limits off: the fuzzer is one client calling fast.
 */
export async function startFuzzStack(): Promise<FuzzStack> {
  const stack = await startStack({
    prefix: "fuzz",
    restart: true,
    // Every service starts at once on a machine that may be busy: give them time.
    readyTimeoutMs: 120_000,
    env: { gateway: { RATE_LIMIT_PER_IP_RPS: "0", RATE_LIMIT_PER_USER_RPS: "0" } },
  });
  try {
    const identity = createClient(
      IdentityService,
      createConnectTransport({ baseUrl: stack.gatewayUrl, httpVersion: "1.1" }),
    );
    const { accessToken } = await identity.signIn({ username: "alice", password: "tourmesh-demo" });
    return {
      stack,
      targets: await fuzzTargets(stack),
      known: await knownStrings(stack, FIELD_HINTS),
      token: accessToken,
    };
  } catch (error) {
    await stack.stop();
    throw error;
  }
}

/** The counts as a table: one line per method, its outcomes by route, protocol and status. */
export function formatCounts(counts: OutcomeCounts): string {
  return [...counts]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([procedure, outcomes]) => {
      const total = [...outcomes.values()].reduce((sum, count) => sum + count, 0);
      const detail = [...outcomes]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([outcome, count]) => `${outcome}=${count}`)
        .join(", ");
      return `${procedure} (${total}): ${detail}`;
    })
    .join("\n");
}
